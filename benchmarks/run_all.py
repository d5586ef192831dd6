"""`make bench`: every benchmark in turn, each printing as it goes, then one table of every
figure with its ratio to the baseline measured in the same run.

usage: python benchmarks/run_all.py [--only NAME ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from summary import PREFIX, Figure, parse  # a sibling module: run as a script

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    "cold_start",
    "startup",
    "pipeline",
    "enrolment_flow",
    "relationships_opening",
    "csv_import",
    "hr_push",
    "pairing_engines",
    "circles",
    "peer_circles",
    "portal_pages",
    "notifications",
]


def run(name: str) -> tuple[list[Figure], int]:
    print(f"\n=== {name} ===", flush=True)
    figures: list[Figure] = []
    with subprocess.Popen(
        [sys.executable, str(HERE / f"{name}.py")], stdout=subprocess.PIPE, text=True, cwd=HERE
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith(PREFIX):
                figures += parse(line)
            else:
                print(line, end="", flush=True)
    return figures, child.returncode


def table(figures: list[Figure]) -> str:
    rows = [("benchmark", "figure", "value", "ratio", "against")]
    for f in figures:
        value = f"{f.value:,.2f} {f.unit}" if f.value < 100 else f"{f.value:,.0f} {f.unit}"
        ratio = f"{f.ratio:.2f}x" if f.ratio is not None else ""
        rows.append((f.benchmark, f.figure, value, ratio, f.baseline))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])


def main(names: list[str]) -> int:
    figures: list[Figure] = []
    failed = []
    for name in names:
        found, code = run(name)
        figures += found
        if code != 0:
            failed.append(name)
    print("\n=== summary (ratios: higher is better) ===\n" + table(figures))
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=BENCHMARKS)
    sys.exit(main(parser.parse_args().only))
