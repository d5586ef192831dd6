"""Every benchmark runs, at a smoke size, so a change that breaks one fails here rather
than on the day someone measures (issue 19: benchmarks cannot rot). The figures at these
sizes mean nothing; the full sizes are `make bench`. What is checked is that each ends by
itself, prints its comparison with its baseline, and that the engines' answers agree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

SMOKE = {
    "pipeline": (["--events", "150", "--latency-events", "15", "--trials", "1"], "x bare"),
    "enrolment_flow": (["--people", "60", "--clients", "4"], "x the bare loop"),
    "relationships_opening": (["--people", "60", "--clients", "4"], "x the bare loop"),
    "csv_import": (["--rows", "100", "--baseline", "10"], "x the baseline)"),
    "hr_push": (["--users", "60", "--changes", "5", "--concurrency", "2"], "x the baseline's rate"),
    "pairing_engines": (["--smoke"], "answer same"),
    "circles": (["--people", "300", "--exact-people", "200"], "0 blocking pairs"),
    "peer_circles": (["--people", "400", "--small-programs", "2"], " 0 settled"),
    "portal_pages": (["--people", "20", "--requests", "3"], "a service call it makes"),
    "notifications": (["--notices", "60", "--connections", "2"], "ratio notifier / bare loop"),
    "startup": (["--institutions", "1"], "x the baseline"),
    "cold_start": (["--runs", "1", "--no-fresh-clone"], "goal: a service ready in"),
}


@pytest.mark.parametrize("name", sorted(SMOKE))
def test_the_benchmark_runs_at_a_smoke_size(name: str) -> None:
    arguments, printed = SMOKE[name]
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{name}.py"), *arguments],
        cwd=BENCHMARKS,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert printed in done.stdout, done.stdout[-2000:]
    assert "DIFFERENT" not in done.stdout  # an engine disagreed with its anchor
    # Its figures for `make bench`'s closing table (benchmarks/run_all.py).
    summaries = [line for line in done.stdout.splitlines() if line.startswith("summary: [")]
    figures = [f for line in summaries for f in json.loads(line.removeprefix("summary: "))]
    assert figures and all(f["value"] > 0 for f in figures), summaries
