"""Pipeline benchmark: one consumer's throughput and publish-to-handled latency.

Events are signed as an institution's relay signs them (DSSE, Ed25519). Three paths,
measured in the same run against the same broker and store:
  bare       a plain aiokafka consumer, insert_one per event, offsets committed every 200 ms
  per-event  our consumer: signature against the trust registry, envelope + schema checks,
             replay check, inbox + state + outbox rows in one MongoDB transaction per
             event, offsets committed after MongoDB, relay running
  batched    our batch consumer: the same work, one transaction per polled batch
Throughput: N events produced first, then timed from the first handled to the last.
Latency: events produced at a steady rate while the consumer runs; handled - produced.

usage: python benchmarks/pipeline.py [--events N] [--latency-events M] [--rate R] [--trials T]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import secrets
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import BaseModel
from pymongo import AsyncMongoClient
from summary import Figure, report  # a sibling module: run as a script

from telemachus.shared.contracts.identity import ProgramPublishedV1
from telemachus.shared.contracts.topics import event_topic
from telemachus.shared.domain import Aggregate
from telemachus.shared.runtime.broker import ensure_topics
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.consumer import BatchHandler, Delivery, EventHandler
from telemachus.shared.runtime.service import ServiceRuntime
from telemachus.shared.runtime.settings import ServiceSettings
from telemachus.shared.runtime.unit_of_work import MongoUnitOfWork
from telemachus.shared.security.keys import InstitutionKeys
from telemachus.shared.security.signing import EventSigner
from telemachus.shared.testing.backends import Backend, start_backend
from telemachus.shared.testing.samples import envelope, program_published
from telemachus.shared.testing.trust import trust_settings

# The same short fetch wait for every path (the local broker does not end a waiting fetch
# when data arrives, so this bounds latency there; see docs/delivery.md).
FETCH_MAX_WAIT_MS = 25


class Seen(Aggregate):
    """The state a handled event leaves behind."""


class Record(BaseModel):
    event: ProgramPublishedV1


@dataclass
class Clock:
    """Send and handle times per event key, in this one process's monotonic clock."""

    sent: dict[str, float] = field(default_factory=dict)
    handled: dict[str, float] = field(default_factory=dict)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    expected: int = 0
    first_started: float | None = None  # when the consumer began on its first event

    def begin(self) -> None:
        if self.first_started is None:
            self.first_started = time.perf_counter()

    def mark(self, keys: list[str]) -> None:
        now = time.perf_counter()
        for key in keys:
            self.handled.setdefault(key, now)
        if len(self.handled) >= self.expected:
            self.done.set()

    def reset(self, expected: int) -> None:
        self.sent, self.handled, self.expected = {}, {}, expected
        self.first_started = None
        self.done.clear()


@dataclass(frozen=True)
class Trust:
    """A publishing institution's signing key, and the settings that make the consuming
    institution's service check its signatures."""

    consumer: str
    signer: EventSigner
    registry_file: Path
    keys_file: Path  # the consumer's


def trust_between(directory: Path, publisher: str, consumer: str) -> Trust:
    settings = trust_settings(directory, publisher, consumer)
    keys = InstitutionKeys.load(settings[publisher]["keys_file"])
    assert keys.signing_key is not None
    mine = settings[consumer]
    return Trust(
        consumer, EventSigner(keys.signing_key), mine["trust_registry_file"], mine["keys_file"]
    )


async def produce(
    bootstrap: str,
    topic: str,
    keys: list[str],
    clock: Clock,
    rate: float | None = None,
    signer: EventSigner | None = None,
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, linger_ms=2)
    await producer.start()
    try:
        pending = []
        for index, key in enumerate(keys):
            sample = program_published(f"bench:{key}")
            headers = envelope(sample, topic, event_id=key, signer=signer)
            clock.sent[f"bench:{key}"] = time.perf_counter()
            pending.append(
                await producer.send(
                    topic,
                    sample.model_dump_json().encode(),
                    key=key.encode(),
                    headers=[(k, v.encode()) for k, v in headers.items()],
                )
            )
            if rate:
                await asyncio.sleep(
                    max(
                        0.0,
                        (index + 1) / rate - (time.perf_counter() - clock.sent[f"bench:{keys[0]}"]),
                    )
                )
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


@dataclass
class Result:
    path: str
    events_per_second: float
    p50_ms: float
    p99_ms: float


def summarize(path: str, throughput_clock: Clock, latency_clock: Clock) -> Result:
    # From the start of work on the first event to the commit of the last, so a path that
    # commits a whole batch at once is not credited with its first batch for free.
    assert throughput_clock.first_started is not None
    span = max(throughput_clock.handled.values()) - throughput_clock.first_started
    rate = len(throughput_clock.handled) / span
    latencies = sorted(
        (latency_clock.handled[k] - latency_clock.sent[k]) * 1000 for k in latency_clock.handled
    )
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return Result(path, rate, statistics.median(latencies), p99)


@dataclass
class Running:
    stop: Callable[[], Awaitable[None]]
    # Wait until background work of the throughput phase (the outbox relay) is done.
    settle: Callable[[], Awaitable[None]]


Runner = Callable[[Backend, str, Clock, Trust], Awaitable[Running]]


async def nothing() -> None:
    return None


async def run_bare(backend: Backend, topic: str, clock: Clock, _: Trust | None = None) -> Running:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(backend.mongodb_uri)
    collection = client[f"bench-bare-{secrets.token_hex(3)}"]["seen"]
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=backend.kafka_bootstrap_servers,
        group_id=f"bench-bare-{secrets.token_hex(3)}",
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()

    async def loop() -> None:
        last_commit = time.perf_counter()
        async for record in consumer:
            clock.begin()
            body = ProgramPublishedV1.model_validate_json(record.value)
            await collection.insert_one({"_id": body.program_id})
            clock.mark([body.program_id])
            if time.perf_counter() - last_commit > 0.2:
                await consumer.commit()
                last_commit = time.perf_counter()

    task = asyncio.create_task(loop())

    async def stop() -> None:
        task.cancel()
        await consumer.stop()
        await client.close()

    return Running(stop, nothing)


def _service(
    backend: Backend, clock: Clock, trust: Trust
) -> tuple[ServiceRuntime, EventHandler, BatchHandler]:
    runtime = ServiceRuntime(
        ServiceSettings(
            institution=trust.consumer,
            service="pairing",
            kafka_bootstrap_servers=backend.kafka_bootstrap_servers,
            mongodb_uri=backend.mongodb_uri,
            mongodb_database=trust.consumer,
            kafka_fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
            join_groups_before_ready=True,  # the clock starts with the consumers in place
            trust_registry_file=trust.registry_file,
            keys_file=trust.keys_file,
        )
    )

    async def record(cmd: Record, uow: MongoUnitOfWork) -> None:
        uow.track(Seen(id=cmd.event.program_id), "seen", new=True)
        uow.publish(cmd.event)  # an outbox row, as a real handler's fact would be

    bus = MessageBus(
        lambda: MongoUnitOfWork(
            runtime.client, runtime.db, runtime.publication, runtime.relay.nudge
        ),
        {Record: record},
        runtime.telemetry.tracer,
    )

    async def one(e: ProgramPublishedV1, delivery: Delivery) -> None:
        clock.begin()
        await bus.handle(Record(event=e), inbox=delivery.inbox)
        clock.mark([e.program_id])

    async def many(items: list[tuple[ProgramPublishedV1, Delivery]]) -> None:
        clock.begin()
        await bus.handle_batch([(Record(event=e), d.inbox) for e, d in items])
        clock.mark([e.program_id for e, _ in items])

    return runtime, one, many


def ours(batch: bool) -> Runner:
    async def run(backend: Backend, topic: str, clock: Clock, trust: Trust) -> Running:
        runtime, one, many = _service(backend, clock, trust)
        if batch:
            runtime.consumer.subscribe_batch(
                "bench", [topic], {ProgramPublishedV1: one}, many, "benchmark"
            )
        else:
            runtime.consumer.subscribe("bench", [topic], {ProgramPublishedV1: one}, "benchmark")
        await runtime.start()

        async def relay_drained() -> None:
            while await runtime.relay.backlog():
                await asyncio.sleep(0.1)

        return Running(runtime.stop, relay_drained)

    return run


async def measure(
    backend: Backend, path: str, runner: Runner, events: int, latency_events: int, rate: float
) -> Result:
    # Named as an institution's topic: the consumer refuses (source-mismatch) any event
    # whose source is not its topic's publisher, so a bench.* topic dead-lettered all.
    publisher = f"bench-{path}-{secrets.token_hex(3)}"
    topic = event_topic(publisher, "identity")
    with tempfile.TemporaryDirectory() as directory:
        trust = trust_between(Path(directory), publisher, f"{publisher}-reader")
        return await _measure(backend, path, runner, topic, trust, events, latency_events, rate)


async def _measure(
    backend: Backend,
    path: str,
    runner: Runner,
    topic: str,
    trust: Trust,
    events: int,
    latency_events: int,
    rate: float,
) -> Result:
    await ensure_topics(backend.kafka_bootstrap_servers, [topic], 1)
    clock = Clock()
    clock.reset(events)
    keys = [f"{path}-{i:07}" for i in range(events)]
    await produce(backend.kafka_bootstrap_servers, topic, keys, clock, signer=trust.signer)
    running = await runner(backend, topic, clock, trust)
    try:
        await asyncio.wait_for(clock.done.wait(), timeout=600)
        throughput = Clock(dict(clock.sent), dict(clock.handled))
        throughput.first_started = clock.first_started
        await running.settle()
        # The consumer keeps marking the same clock: reset it for the latency phase.
        clock.reset(latency_events)
        await produce(
            backend.kafka_bootstrap_servers,
            topic,
            [f"{path}-latency-{i:05}" for i in range(latency_events)],
            clock,
            rate=rate,
            signer=trust.signer,
        )
        await asyncio.wait_for(clock.done.wait(), timeout=600)
        return summarize(path, throughput, clock)
    finally:
        await running.stop()


PATHS: list[tuple[str, Runner]] = [
    ("bare", run_bare),
    ("per-event", ours(False)),
    ("batched", ours(True)),
]


async def main(events: int, latency_events: int, rate: float, trials: int) -> dict[str, Result]:
    print(
        f"{trials} trials, each on freshly started servers with the paths in rotated order: "
        f"{events} events for throughput (median shown), {latency_events} at {rate:.0f}/s "
        "for latency\n"
    )
    runs: dict[str, list[Result]] = {path: [] for path, _ in PATHS}
    for trial in range(trials):
        # Fresh servers per trial: a store that fills up slows whichever path runs last.
        backend = await asyncio.to_thread(start_backend)
        if trial == 0:
            print(f"backend: {backend.describe()}")
        try:
            for path, runner in PATHS[trial % len(PATHS) :] + PATHS[: trial % len(PATHS)]:
                result = await measure(backend, path, runner, events, latency_events, rate)
                runs[path].append(result)
                print(
                    f"  trial {trial + 1} {path:10} {result.events_per_second:6.0f} events/s"
                    f"  p50 {result.p50_ms:5.1f} ms",
                    flush=True,
                )
        finally:
            await asyncio.to_thread(backend.stop)
    results = {
        path: Result(
            path,
            statistics.median(r.events_per_second for r in rs),
            statistics.median(r.p50_ms for r in rs),
            max(r.p99_ms for r in rs),
        )
        for path, rs in runs.items()
    }
    bare = results["bare"].events_per_second
    print(f"\n{'path':10} {'events/s':>10} {'x bare':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for r in results.values():
        print(
            f"{r.path:10} {r.events_per_second:10.0f} {r.events_per_second / bare:7.2f}"
            f" {r.p50_ms:8.1f} {r.p99_ms:8.1f}"
        )
    report(
        *(
            Figure(
                "pipeline",
                f"{r.path} throughput",
                r.events_per_second,
                "events/s",
                r.events_per_second / bare,
                "bare consume-and-insert loop",
            )
            for r in results.values()
            if r.path != "bare"
        ),
        Figure(
            "pipeline",
            "batched publish->handled p50",
            results["batched"].p50_ms,
            "ms",
            results["bare"].p50_ms / results["batched"].p50_ms,
            "bare loop's p50",
        ),
        Figure(
            "pipeline",
            "batched publish->handled p99",
            results["batched"].p99_ms,
            "ms",
            results["bare"].p99_ms / results["batched"].p99_ms,
            "bare loop's p99",
        ),
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory of this process (all paths): {peak:.0f} MB")
    print(
        "goal: the batched full path keeps >= 0.67 x the bare loop's throughput: "
        + ("met" if results["batched"].events_per_second >= 0.67 * bare else "NOT met")
    )
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--latency-events", type=int, default=300)
    # Below every path's throughput, or a queue builds and latency measures the queue.
    parser.add_argument("--rate", type=float, default=40.0)
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.latency_events, args.rate, args.trials))
