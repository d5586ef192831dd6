"""The relay against the real store, with a broker that fails on demand."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from telemachus.shared.contracts.identity import ProgramPublishedV1
from telemachus.shared.runtime.lease import LEASES_COLLECTION, Lease
from telemachus.shared.runtime.outbox import (
    OutboxRelay,
    Publication,
    ensure_outbox_indexes,
    outbox_row,
)
from telemachus.shared.testing.backends import Backend
from telemachus.shared.testing.kafka import eventually
from telemachus.shared.testing.samples import program_published


class FlakyBroker:
    def __init__(self, fail_key: str | None) -> None:
        self.fail_key = fail_key
        self.sent: list[str] = []

    async def send(self, topic: str, key: str, payload: bytes, headers: dict[str, str]) -> Any:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if key == self.fail_key:
            future.set_exception(ConnectionError("broker went away"))
        else:
            self.sent.append(key)
            future.set_result(None)
        return future


async def test_rows_after_a_failed_one_wait_so_order_per_key_holds(backend: Backend) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(backend.mongodb_uri)
    collection = client[f"test-relay-{secrets.token_hex(3)}"]["outbox"]
    publication = Publication(topic="telemachus.hh.identity", source="/telemachus/hh/identity")
    events: list[ProgramPublishedV1] = [program_published(f"hh:program{i}") for i in range(4)]
    await collection.insert_many([outbox_row(e, publication) for e in events])
    broker = FlakyBroker(fail_key="hh:program1")
    relay = OutboxRelay(collection, broker.send, poll_seconds=0.05, batch_size=10)
    try:
        try:
            await relay.publish_pending()
            raise AssertionError("the failure should surface")
        except ConnectionError:
            pass
        unsent = await collection.find({"sent_at": None}).sort("_id").to_list(None)
        assert [row["key"] for row in unsent] == ["hh:program1", "hh:program2", "hh:program3"]
        assert unsent[0]["attempts"] == 1 and "broker went away" in unsent[0]["last_error"]

        broker.fail_key = None  # the broker is back
        assert await relay.publish_pending() == 3
        assert broker.sent == [
            "hh:program0",
            "hh:program2",
            "hh:program3",
            "hh:program1",
            "hh:program2",
            "hh:program3",
        ]
        assert await relay.backlog() == 0
    finally:
        await client.close()


async def test_published_rows_expire_and_unsent_ones_stay(backend: Backend) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(backend.mongodb_uri)
    collection = client[f"test-relay-{secrets.token_hex(3)}"]["outbox"]
    try:
        await ensure_outbox_indexes(collection, retention_seconds=3600)
        indexes = await collection.index_information()
        assert indexes["sent_at_ttl"]["expireAfterSeconds"] == 3600
        assert indexes["sent_at_ttl"]["key"] == [("sent_at", 1)]
    finally:
        await client.close()


async def test_only_one_replica_publishes_and_another_takes_over_when_it_stops(
    backend: Backend,
) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(backend.mongodb_uri)
    db = client[f"test-relay-{secrets.token_hex(3)}"]
    publication = Publication(topic="telemachus.hh.identity", source="/telemachus/hh/identity")
    brokers = {name: FlakyBroker(fail_key=None) for name in ("a", "b")}
    relays = {
        name: OutboxRelay(
            db["outbox"],
            broker.send,
            poll_seconds=0.05,
            batch_size=10,
            lease=Lease(db[LEASES_COLLECTION], "outbox-relay", f"replica-{name}", 30),
        )
        for name, broker in brokers.items()
    }

    async def backlog_empty() -> bool:
        return await relays["a"].backlog() == 0

    try:
        await db["outbox"].insert_many(
            [outbox_row(program_published(f"hh:first{i}"), publication) for i in range(3)]
        )
        for relay in relays.values():
            relay.start()
        await eventually(backlog_empty)
        await asyncio.sleep(0.3)  # give the other replica every chance to publish too
        holder = next(name for name, broker in brokers.items() if broker.sent)
        other = "b" if holder == "a" else "a"
        assert brokers[holder].sent == ["hh:first0", "hh:first1", "hh:first2"]
        assert brokers[other].sent == []

        await relays[holder].stop()  # releases the lease well before its 30 s term
        await db["outbox"].insert_many(
            [outbox_row(program_published(f"hh:second{i}"), publication) for i in range(2)]
        )
        await eventually(backlog_empty, within=5)
        assert brokers[other].sent == ["hh:second0", "hh:second1"]
    finally:
        for relay in relays.values():
            await relay.stop()
        await client.close()


async def test_recording_a_failed_send_of_a_row_an_erasure_deletes_does_not_wedge_the_store(
    backend: Backend,
) -> None:
    """An erasure deletes a person's outbox rows and then writes its own, in one
    transaction; the relay may at that moment record that sending one of those rows failed.
    Outside a transaction, the local store retries that multi-row write while holding the
    collection, so the erasure's next write waited behind it for ever and every later
    request hung (found in CI)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(backend.mongodb_uri)
    collection = client[f"test-relay-{secrets.token_hex(3)}"]["outbox"]
    publication = Publication(topic="telemachus.hh.identity", source="/telemachus/hh/identity")
    await collection.insert_one(outbox_row(program_published("hh:enrolled"), publication))
    sending, gate = asyncio.Event(), asyncio.Event()

    async def send(topic: str, key: str, payload: bytes, headers: dict[str, str]) -> Any:
        sending.set()
        await gate.wait()  # the broker fails once the erasure has deleted the row
        failed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        failed.set_exception(ConnectionError("broker went away"))
        return failed

    async def erase() -> None:
        async with client.start_session() as erasure:
            await erasure.start_transaction()
            await collection.delete_many({"key": "hh:enrolled"}, session=erasure)
            gate.set()
            await asyncio.sleep(0.5)  # the relay records the failure on the deleted row
            erased = outbox_row(program_published("hh:erased"), publication)
            await collection.insert_one(erased, session=erasure)
            await erasure.commit_transaction()

    relay = OutboxRelay(collection, send, poll_seconds=0.05, batch_size=10)
    publishing = asyncio.create_task(relay.publish_pending())
    await asyncio.wait_for(sending.wait(), 10)
    erasing = asyncio.create_task(erase())
    # Not wait_for: cancelling a write to a wedged store waits for ever too.
    done, _ = await asyncio.wait({erasing, publishing}, timeout=20)
    if erasing not in done or publishing not in done:
        pytest.fail("the erasure and the relay wait on each other: the store is wedged")
    try:
        await erasing
        with pytest.raises(ConnectionError):
            await publishing
        assert [row["key"] for row in await collection.find().to_list(None)] == ["hh:erased"]
    finally:
        await client.close()
