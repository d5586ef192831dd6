"""Start-up benchmark: how soon services say they are ready, on fresh local servers.

Measured in the same run: one institution's four services, then three institutions'
twelve, each from `Federation.start()` to every service ready (topics and indexes made,
pairing's matching kernels loaded from numba's cache, every consumer group joined). The
baseline is the broker's own floor: one bare aiokafka consumer joining one group, which
every service start must wait for at least once.

usage: python benchmarks/startup.py [--institutions N ...]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from summary import Figure, report  # a sibling module: run as a script

from telemachus.cli.federation import DEFAULT_INSTITUTIONS, Federation
from telemachus.shared.runtime.broker import ensure_topics
from telemachus.shared.runtime.settings import ServiceSettings
from telemachus.shared.testing.backends import Backend, start_backend

GOAL_SECONDS = 5.0


async def one_group_join(backend: Backend, session_timeout_ms: int) -> float:
    topic = f"bench-join-{secrets.token_hex(3)}"
    await ensure_topics(backend.kafka_bootstrap_servers, [topic], 1)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=backend.kafka_bootstrap_servers,
        group_id=f"bench-join-{secrets.token_hex(3)}",
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=session_timeout_ms // 3,
    )
    started = time.perf_counter()
    await consumer.start()
    while not consumer.assignment():
        await asyncio.sleep(0.01)
    took = time.perf_counter() - started
    await consumer.stop()
    return took


async def federation_ready(backend: Backend, institutions: int) -> float:
    with tempfile.TemporaryDirectory() as trust_dir:
        federation = Federation(
            backend.kafka_bootstrap_servers,
            backend.mongodb_uri,
            institutions=DEFAULT_INSTITUTIONS[:institutions],
            database_prefix=f"bench-{secrets.token_hex(3)}",
            trust_dir=Path(trust_dir),
        )
        started = time.perf_counter()
        await federation.start()
        took = time.perf_counter() - started
        await federation.stop()
    return took


async def main(sizes: list[int]) -> None:
    backend = await asyncio.to_thread(start_backend)
    print(f"backend: {backend.describe()}")
    try:
        session = Federation.session_timeout_ms
        floor = await one_group_join(backend, session)
        default = await one_group_join(
            backend, ServiceSettings.model_fields["kafka_session_timeout_ms"].default
        )
        print(
            f"baseline  one bare consumer joins one group: {floor:5.2f} s "
            f"(session {session} ms; {default:.2f} s at the client default)"
        )
        for count in sizes:
            took = await federation_ready(backend, count)
            report(
                Figure(
                    "startup",
                    f"{4 * count} services ready ({count} institution(s))",
                    took,
                    "s",
                    floor / took,
                    "one bare consumer's group join",
                )
            )
            print(
                f"ready     {count} institution(s), {4 * count} services: {took:5.2f} s "
                f"({took / floor:.1f}x the baseline)"
            )
            if count == 1:
                verdict = "met" if took < GOAL_SECONDS else "NOT met"
                print(
                    f"goal: one institution's services ready in < {GOAL_SECONDS:.0f} s: {verdict}"
                )
    finally:
        await asyncio.to_thread(backend.stop)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--institutions", type=int, nargs="+", default=[1, 3])
    args = parser.parse_args()
    asyncio.run(main(args.institutions))
