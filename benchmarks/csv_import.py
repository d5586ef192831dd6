"""CSV import benchmark: a coordinator imports N participants through identity's HTTP API.

Measured in the same run against the same broker and store:
  import     POST /participants/import with an N-row file (seeded generator): parse, form
             checks, store checks, one transaction; wall time and rows/s
  baseline   POST /participants one person at a time (M requests), rows/s
Memory: the service process's peak RSS before and after the import (it holds the whole
file, the parsed rows and the report at once), and Python's own peak during the import
(tracemalloc; it counts every allocation, so it is the bound to watch as N grows).

usage: python benchmarks/csv_import.py [--rows N] [--baseline M] [--seed S]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import random
import resource
import time
import tracemalloc

import httpx
import summary  # sibling modules: run as a script
from one_institution import one_institution

from telemachus.cli.federation import Federation
from telemachus.shared.security.tokens import Role

COLUMNS = [
    "display_name",
    "work_email",
    "profession",
    "career_stage",
    "department",
    "topics_offered",
    "topics_sought",
    "languages",
    "time_zone",
    "availability",
]
PROFESSIONS = ["medicine", "nursing", "physiotherapy", "pharmacy", "research", "education"]
TOPICS = ["e-medicine", "apps", "literature-searching", "clinician-well-being"]
ZONES = ["Europe/London", "Australia/Sydney", "America/Toronto"]


def generate(rows: int, seed: int) -> str:
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for i in range(rows):
        offered, sought = rng.sample(TOPICS, 2)
        day = rng.choice(["mon", "tue", "wed", "thu", "fri"])
        start = rng.randint(8, 16)
        writer.writerow(
            [
                f"Person {i}",
                f"person{i}.{seed}@bench.example",
                rng.choice(PROFESSIONS),
                rng.randint(1, 5),
                f"Department {rng.randint(1, 40)}",
                f"{offered}:{rng.randint(1, 5)}",
                f"{sought}:{rng.randint(1, 5)}",
                rng.choice(["en", "en;fr", "en;es"]),
                rng.choice(ZONES),
                f"{day} {start:02}:00-{start + 1:02}:30",
            ]
        )
    return out.getvalue()


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(rows: int, baseline: int, seed: int) -> None:
    async with one_institution() as (federation, institution, _):
        await run(federation, institution, rows, baseline, seed)


async def run(
    federation: Federation, institution: str, rows: int, baseline: int, seed: int
) -> None:
    token = federation.token(institution, "bench-coordinator", Role.COORDINATOR)
    headers = {"Authorization": f"Bearer {token}"}
    url = federation.url(institution, "identity")
    text = generate(rows, seed)
    print(f"file: {rows} rows, {len(text.encode()) / 1024 / 1024:.2f} MiB")
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=600) as client:
        started = time.perf_counter()
        for i in range(baseline):
            response = await client.post(
                "/participants",
                json={
                    "display_name": f"One {i}",
                    "work_email": f"one{i}.{seed}@bench.example",
                    "profession": "nursing",
                    "career_stage": 2,
                    "topics_offered": [{"topic": "apps", "proficiency": 3}],
                },
            )
            response.raise_for_status()
        one_by_one = baseline / (time.perf_counter() - started)

        rss_before = rss_mib()
        started = time.perf_counter()
        response = await client.post(
            "/participants/import", content=text, headers={"content-type": "text/csv"}
        )
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        report = response.json()
        rss_after = rss_mib()
        # A second file of other people, traced: tracemalloc slows the work, so not timed.
        tracemalloc.start()
        traced = await client.post(
            "/participants/import",
            content=generate(rows, seed + 1),
            headers={"content-type": "text/csv"},
        )
        _, python_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        traced.raise_for_status()
    assert report["imported"] == rows, report["refused"]
    summary.report(
        summary.Figure(
            "csv import",
            f"import of {rows} rows",
            rows / elapsed,
            "rows/s",
            rows / elapsed / one_by_one,
            "POST /participants one by one",
        )
    )
    print(f"baseline  POST /participants x{baseline}: {one_by_one:8.1f} rows/s")
    print(
        f"import    {rows} rows in {elapsed:6.2f} s:   {rows / elapsed:8.1f} rows/s "
        f"({rows / elapsed / one_by_one:.1f}x the baseline)"
    )
    print(
        f"memory    peak RSS {rss_before:.0f} -> {rss_after:.0f} MiB over the import; "
        f"Python allocations peak {python_peak / 1024 / 1024:.0f} MiB during a second one"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.baseline, args.seed))
