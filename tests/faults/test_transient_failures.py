"""Issue 15, fault 1: an unavailable store, or a write conflict held by another process's
open transaction, is the infrastructure's failure, not the event's. The consumer waits and
retries that record until it succeeds: nothing is dead-lettered, nothing skipped, every
effect happens once; meanwhile the consumer says it is not progressing. On the real broker,
with a SecantusDB of the test's own that it stops and starts again."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from telemachus.shared.runtime import service as service_module
from telemachus.shared.testing.backends import Backend
from telemachus.shared.testing.kafka import eventually, produce_event
from telemachus.shared.testing.samples import envelope, program_published
from tests.helpers.counting_service import CountingService, settings_for
from tests.helpers.restartable import RestartableStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RestartableStore]:
    restartable = RestartableStore(tmp_path / "data")
    restartable.start()
    try:
        yield restartable
    finally:
        restartable.stop()


async def publish(backend: Backend, topic: str, key: str) -> None:
    event = program_published(key)
    await produce_event(backend.kafka_bootstrap_servers, topic, event, envelope(event, topic))


@pytest.fixture
async def on_store(
    backend: Backend, source: str, store: RestartableStore
) -> AsyncIterator[CountingService]:
    settings = settings_for(
        backend, f"outage-{secrets.token_hex(3)}", mongodb_uri=store.uri, handler_attempts=2
    )
    service = CountingService(settings, source)
    await service.runtime.start()
    try:
        yield service
    finally:
        await service.runtime.stop()


async def test_events_that_wait_through_a_store_outage_are_all_handled_once(
    backend: Backend, source: str, store: RestartableStore, on_store: CountingService
) -> None:
    keys = [f"inst-a:outage-{i}" for i in range(8)]
    await publish(backend, source, keys[0])
    await eventually(lambda: on_store.count(keys[0]))

    store.stop()
    for key in keys[1:]:
        await publish(backend, source, key)
    # The consumer meets the outage, retries, and says it is not progressing.
    await eventually(lambda: _true(on_store.runtime.consumer.stalled() != {}), within=30)
    assert on_store.runtime.dead_letters.count == 0
    await asyncio.sleep(3)
    store.start()

    for key in keys:
        assert await eventually(partial(on_store.count, key), within=60) == 1
    await eventually(lambda: _true(on_store.committed() == len(keys)), within=30)
    assert on_store.runtime.dead_letters.count == 0
    assert on_store.runtime.consumer.stalled() == {}


async def test_a_write_conflict_held_by_another_transaction_waits_instead_of_dead_lettering(
    backend: Backend, source: str, store: RestartableStore, on_store: CountingService
) -> None:
    """A killed process's open transaction keeps a document locked for about a minute; the
    handler's retry budget was about 1.5 s, so the event was dead-lettered and lost."""
    key = "inst-a:contended"
    blocker: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(store.uri)
    session = blocker.start_session()
    try:
        await session.start_transaction()
        await blocker[on_store.settings.database_name]["counters"].update_one(
            {"_id": key}, {"$inc": {"n": 0}}, upsert=True, session=session
        )
        await publish(backend, source, key)
        await eventually(lambda: _true(on_store.runtime.consumer.stalled() != {}), within=30)
        await asyncio.sleep(4)  # well past the old retry budget
        assert on_store.runtime.dead_letters.count == 0
        assert await on_store.count(key) == 0
        await session.abort_transaction()
    finally:
        await session.end_session()
        await blocker.close()
    assert await eventually(lambda: on_store.count(key), within=30) == 1
    assert on_store.runtime.dead_letters.count == 0


async def _true(value: bool) -> bool:
    return value


async def test_a_service_stops_in_bounded_time_whatever_hangs(
    counting: CountingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15, fault 3: services ignored SIGTERM's grace (52 s to stop) while the broker
    misbehaved. Each step of stopping gets a bounded time, then the service goes on."""
    runtime = counting.runtime
    monkeypatch.setattr(service_module, "STOP_STEP_SECONDS", 0.5)
    stop_broker = runtime.broker.stop

    async def hangs() -> None:
        await asyncio.Event().wait()

    monkeypatch.setattr(runtime.broker, "stop", hangs)
    started = asyncio.get_running_loop().time()
    await asyncio.wait_for(runtime.stop(), timeout=10)
    assert asyncio.get_running_loop().time() - started < 5
    await stop_broker()  # the real clients, so nothing is left running
