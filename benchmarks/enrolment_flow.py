"""Enrolment flow benchmark: people enrol through identity's HTTP API, and the lead's
pairing service puts each into the program's pool from the event identity publishes.

One institution's four services (its notifier too) on fresh local servers. Seeding (not
measured): N people imported by CSV, a program published. Then `clients` concurrent
clients each enrol people one request at a time, as a cohort does after an announcement.

Printed, from the store's own timestamps (one machine, one clock):
  enrolments/s   the HTTP answers (201) per second over the burst
  in pool/s      candidates in the pool per second, first answer to last one in the pool
  commit->handled  per event, identity's outbox row written (the same transaction as the
                 enrolment) to pairing's inbox entry written (the same transaction as the
                 candidate): p50, p99, and p50 of the first and the last tenth (a queue that
                 grows shows as a last tenth far above the first)
  bare           a plain aiokafka consume-and-insert loop over as many events, same run

usage: python benchmarks/enrolment_flow.py [--people N] [--clients C]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from one_institution import one_institution  # sibling modules: run as a script
from pipeline import Clock, produce, run_bare
from portal_pages import CONSENT, participants, roster_and_program
from summary import Figure, report

from telemachus.cli.federation import Federation
from telemachus.pairing.service_layer.unit_of_work import CANDIDATES
from telemachus.shared.contracts.identity import ParticipantEnrolledV2
from telemachus.shared.contracts.topics import event_topic
from telemachus.shared.runtime.broker import ensure_topics
from telemachus.shared.runtime.inbox import INBOX_COLLECTION
from telemachus.shared.runtime.outbox import OUTBOX_COLLECTION
from telemachus.shared.runtime.service import ServiceRuntime
from telemachus.shared.security.tokens import Role
from telemachus.shared.testing.backends import Backend

GOAL_PER_SECOND = 200.0
GOAL_P99_MS = 1000.0


@dataclass
class Flow:
    """An API burst and the event flow it starts: answers/s over the burst, events
    handled/s downstream, and commit->handled per event."""

    answered_per_second: float
    handled_per_second: float
    p50_ms: float
    p99_ms: float
    first_tenth_p50_ms: float
    last_tenth_p50_ms: float

    @classmethod
    def of(
        cls, count: int, burst_seconds: float, ms: list[float], first: datetime, last: datetime
    ) -> Flow:
        """From the burst's length and commit->handled per event (in commit order)."""
        tenth = max(1, len(ms) // 10)
        return cls(
            answered_per_second=count / burst_seconds,
            handled_per_second=count / (last - first).total_seconds(),
            p50_ms=statistics.median(ms),
            p99_ms=percentile(ms, 0.99),
            first_tenth_p50_ms=statistics.median(ms[:tenth]),
            last_tenth_p50_ms=statistics.median(ms[-tenth:]),
        )


async def seed(f: Federation, inst: str, people: int) -> tuple[str, list[dict[str, Any]], str]:
    """(program id, the people as identity lists them, a coordinator's token)."""
    token = f.token(inst, "bench-coordinator", Role.COORDINATOR)
    auth = {"Authorization": f"Bearer {token}"}
    identity = f.url(inst, "identity")
    async with httpx.AsyncClient(timeout=600) as http:
        program = await roster_and_program(http, identity, auth, people, "Enrolment benchmark")
        listed = await participants(http, identity, auth)
        pool = f"{f.url(inst, 'pairing')}/programs/{program['id']}/pool"
        while (await http.get(pool, headers=auth)).status_code != 200:
            await asyncio.sleep(0.2)  # the lead's pairing has the program
    return str(program["id"]), listed, token


async def enrol_all(
    f: Federation, inst: str, program_id: str, people: list[dict[str, Any]], clients: int
) -> float:
    """Seconds from the first request to the last answer."""
    identity = f.url(inst, "identity")
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for person in people:
        queue.put_nowait(person)

    async def client() -> None:
        async with httpx.AsyncClient(timeout=120) as http:
            while not queue.empty():
                person = queue.get_nowait()
                token = f.token(inst, person["subject"], Role.PARTICIPANT, ref=person["ref"])
                answer = await http.post(
                    f"{identity}/participants/{person['id']}/enrolments",
                    headers={"Authorization": f"Bearer {token}"},
                    json={"program_id": program_id, "consented_fields": CONSENT},
                )
                if answer.status_code != 201:
                    raise RuntimeError(f"enrolment refused: {answer.status_code} {answer.text}")

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started


async def in_pool(f: Federation, inst: str, program_id: str, people: int) -> None:
    candidates = f.services[(inst, "pairing")].runtime.db[CANDIDATES]
    while await candidates.count_documents({"program_id": program_id}) < people:
        await asyncio.sleep(0.5)


async def latencies(
    producer: ServiceRuntime, consumer: ServiceRuntime, event_type: str
) -> tuple[list[float], datetime, datetime]:
    """commit->handled per event of this type in ms, in commit order: the producer's outbox
    row (written in its command's transaction) to the consumer's inbox entry (written in
    its handler's); the first commit and the last handling."""
    committed = {  # by inbox id, CloudEvents source + id
        f"{row['headers']['ce_source']}#{row['headers']['ce_id']}": row["created_at"]
        async for row in producer.db[OUTBOX_COLLECTION].find(
            {"headers.ce_type": event_type}, {"headers": 1, "created_at": 1}
        )
    }
    handled = {
        entry["_id"]: entry["handled_at"]
        async for entry in consumer.db[INBOX_COLLECTION].find({"_id": {"$in": list(committed)}})
    }
    order = sorted(handled, key=lambda i: committed[i])
    ms = [(handled[i] - committed[i]).total_seconds() * 1000 for i in order]
    return ms, committed[order[0]], max(handled.values())


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def flow(people: int, clients: int) -> tuple[Flow, float]:
    async with one_institution() as (f, inst, backend):
        program_id, listed, _ = await seed(f, inst, people)
        print(f"  seeded {len(listed)} people and a program")
        took = await enrol_all(f, inst, program_id, listed[:people], clients)
        await in_pool(f, inst, program_id, people)
        ms, first, last = await latencies(
            f.runtime(inst, "identity"),
            f.runtime(inst, "pairing"),
            ParticipantEnrolledV2.event_type,
        )
        result = Flow.of(people, took, ms, first, last)
        bare = await bare_rate(backend, people)
    print_flow(
        result,
        bare,
        benchmark="enrolment flow",
        burst=f"{people} enrolments from {clients} concurrent clients",
        answered="enrolments answered",
        handled="candidates into the pool",
    )
    return result, bare


async def bare_rate(backend: Backend, events: int) -> float:
    """Events/s of a plain consume-and-insert loop over `events` records, same servers."""
    topic = event_topic(f"bench-bare-{secrets.token_hex(3)}", "identity")
    await ensure_topics(backend.kafka_bootstrap_servers, [topic], 1)
    clock = Clock()
    clock.reset(events)
    await produce(backend.kafka_bootstrap_servers, topic, [f"{i:07}" for i in range(events)], clock)
    running = await run_bare(backend, topic, clock)
    try:
        await asyncio.wait_for(clock.done.wait(), timeout=600)
    finally:
        await running.stop()
    assert clock.first_started is not None
    return events / (max(clock.handled.values()) - clock.first_started)


def print_flow(
    r: Flow, bare: float, *, benchmark: str, burst: str, answered: str, handled: str
) -> None:
    """The figures of a flow, each rate against the bare loop's, and the issue's goal."""
    print(f"\n{burst}")
    print(f"  {answered:<24} {r.answered_per_second:8.0f} /s")
    print(
        f"  {handled:<24} {r.handled_per_second:8.0f} /s"
        f"   ({r.handled_per_second / bare:.2f} x the bare loop's {bare:.0f}/s)"
    )
    print(f"  {'commit->handled p50':<24} {r.p50_ms:8.0f} ms   p99 {r.p99_ms:.0f} ms")
    print(
        f"  {'p50, first tenth':<24} {r.first_tenth_p50_ms:8.0f} ms   "
        f"last tenth {r.last_tenth_p50_ms:.0f} ms"
    )
    baseline = "bare consume-and-insert loop"
    report(
        Figure(
            benchmark, answered, r.answered_per_second, "/s", r.answered_per_second / bare, baseline
        ),
        Figure(
            benchmark, handled, r.handled_per_second, "/s", r.handled_per_second / bare, baseline
        ),
        Figure(benchmark, "commit->handled p99", r.p99_ms, "ms"),
    )
    met = r.handled_per_second >= GOAL_PER_SECOND and r.p99_ms <= GOAL_P99_MS
    print(
        f"goal: >= {GOAL_PER_SECOND:.0f}/s {handled} with p99 <= {GOAL_P99_MS:.0f} ms: "
        + ("met" if met else "NOT met")
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(flow(args.people, args.clients))
