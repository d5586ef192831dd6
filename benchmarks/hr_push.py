"""HR push benchmark: an HR system provisions N people by SCIM, then pushes them all again
with C of them changed, and the same roster goes through a CSV re-sync job.

Measured in the same run against the same store:
  baseline   a plain loop of N insert_one calls of participant-sized documents into a
             collection of the same store (no HTTP, no checks): the floor per person
  push       POST /scim/v2/Users one person at a time, as connectors send them
  re-push    PUT /scim/v2/Users/{id} for all N, C of them changed: only C records change
  re-sync    the same roster as a CSV export, C rows changed, through a re-sync job
Memory: this process's peak RSS (the services run in it) before and after.

usage: python benchmarks/hr_push.py [--users N] [--changes C] [--concurrency K]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import secrets
import time
from typing import Any

import httpx
import summary  # sibling modules: run as a script
from one_institution import one_institution
from pymongo import AsyncMongoClient

from telemachus.cli.federation import Federation
from telemachus.shared.security.tokens import Role

PARTICIPANT = "urn:telemachus:params:scim:schemas:extension:participant:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SCIM = {"Content-Type": "application/scim+json"}


def record(i: int, run: str, department: str = "Emergency") -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", PARTICIPANT, ENTERPRISE],
        "userName": f"u{i}.{run}",
        "externalId": f"hr-{i}",
        "displayName": f"Person {i}",
        "emails": [{"value": f"u{i}.{run}@bench.example", "type": "work", "primary": True}],
        "active": True,
        PARTICIPANT: {"profession": "nursing", "careerStage": "early-career"},
        ENTERPRISE: {"employeeNumber": f"E{i}", "department": department},
    }


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def in_parallel(calls: list[Any], concurrency: int) -> list[Any]:
    gate = asyncio.Semaphore(concurrency)

    async def one(call: Any) -> Any:
        async with gate:
            return await call

    return await asyncio.gather(*(one(c) for c in calls))


async def baseline(uri: str, users: int) -> float:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    collection = client[f"bench-baseline-{secrets.token_hex(3)}"]["people"]
    started = time.perf_counter()
    for i in range(users):
        await collection.insert_one(
            {"_id": f"p{i}", **record(i, "base"), "registered_at": time.time()}
        )
    elapsed = time.perf_counter() - started
    await client.drop_database(collection.database.name)
    await client.close()
    return elapsed


async def main(users: int, changes: int, concurrency: int) -> None:
    async with one_institution() as (federation, institution, backend):
        floor = await baseline(backend.mongodb_uri, users)
        await run(federation, institution, users, changes, concurrency, floor)


async def run(
    federation: Federation,
    institution: str,
    users: int,
    changes: int,
    concurrency: int,
    floor: float,
) -> None:
    token = federation.token(institution, "hr-system", Role.PROVISIONER, Role.COORDINATOR)
    url = federation.url(institution, "identity")
    run_id = secrets.token_hex(3)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=600) as client:
        rss_before = rss_mib()
        started = time.perf_counter()
        created = await in_parallel(
            [
                client.post("/scim/v2/Users", json=record(i, run_id), headers=SCIM)
                for i in range(users)
            ],
            concurrency,
        )
        push = time.perf_counter() - started
        assert all(r.status_code == 201 for r in created), created[0].text
        ids = [r.json()["id"] for r in created]

        changed = set(range(0, users, max(users // changes, 1))[:changes])
        started = time.perf_counter()
        replaced = await in_parallel(
            [
                client.put(
                    f"/scim/v2/Users/{ids[i]}",
                    json=record(i, run_id, "Radiology" if i in changed else "Emergency"),
                    headers=SCIM,
                )
                for i in range(users)
            ],
            concurrency,
        )
        repush = time.perf_counter() - started
        assert all(r.status_code == 200 for r in replaced), replaced[0].text
        moved = sum(r.json()["meta"]["version"] != 'W/"0"' for r in replaced)

        export = "display_name,work_email,employee_number,profession,career_stage,department\n"
        export += "".join(
            f"Person {i},u{i}.{run_id}@bench.example,E{i},nursing,2,"
            f"{'Oncology' if i in changed else 'Emergency'}\n"
            for i in range(users)
        )
        started = time.perf_counter()
        answer = await client.post(
            "/participants/import-jobs", content=export, headers={"Content-Type": "text/csv"}
        )
        job = answer.json()
        while job["status"] == "running":
            await asyncio.sleep(0.2)
            job = (await client.get(f"/participants/import-jobs/{job['id']}")).json()
        resync = time.perf_counter() - started
        rss_after = rss_mib()
    report = job["report"]
    baseline = "insert_one per user, same store"
    summary.report(
        summary.Figure(
            "hr push", "SCIM POST /Users", users / push, "users/s", floor / push, baseline
        ),
        summary.Figure(
            "hr push", "SCIM PUT /Users", users / repush, "users/s", floor / repush, baseline
        ),
        summary.Figure(
            "hr push", "CSV re-sync job", users / resync, "rows/s", floor / resync, baseline
        ),
    )
    print(f"users {users}, changed {len(changed)}, concurrency {concurrency}")
    print(f"baseline  insert_one x{users}:      {floor:7.2f} s  {users / floor:8.1f} /s")
    print(
        f"push      POST /Users x{users}:      {push:7.2f} s  {users / push:8.1f} /s "
        f"({floor / push:.2f}x the baseline's rate)"
    )
    print(
        f"re-push   PUT /Users x{users}:       {repush:7.2f} s  {users / repush:8.1f} /s "
        f"({floor / repush:.2f}x the baseline's rate); records changed: {moved}"
    )
    print(
        f"re-sync   CSV job of {users} rows:   {resync:7.2f} s  {users / resync:8.1f} /s "
        f"({floor / resync:.2f}x the baseline's rate); updated {report['updated']}, "
        f"unchanged {report['unchanged']}, created {report['created']}"
    )
    print(f"memory    peak RSS {rss_before:.0f} -> {rss_after:.0f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.users, args.changes, args.concurrency))
