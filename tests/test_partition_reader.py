"""The partition reader that lists a service's dead letters shares its one client with the
relay's check of what the broker holds. While the relay reads its own topic, the client
tracks only that topic: an operator's listing at that moment must still find every
partition of the dead-letter topic (CI saw the listing come back empty)."""

from __future__ import annotations

import asyncio
import secrets

from telemachus.shared.runtime.broker import PartitionReader, ensure_topics
from telemachus.shared.testing.backends import Backend
from telemachus.shared.testing.kafka import produce


async def test_a_topic_is_found_while_another_is_being_read(backend: Backend) -> None:
    letters, events = (f"reader-{secrets.token_hex(3)}.{name}" for name in ("dl", "events"))
    await ensure_topics(backend.kafka_bootstrap_servers, [letters], 2)
    await ensure_topics(backend.kafka_bootstrap_servers, [events], 1)
    await produce(backend.kafka_bootstrap_servers, letters, b"{}", {}, key=b"k")
    reader = PartitionReader(backend.kafka_bootstrap_servers)
    try:
        assert await reader.partitions(letters) == [0, 1]
        # The relay looks for offsets it knows of on an empty partition: it keeps that
        # partition assigned for three empty one-second fetches.
        relay = asyncio.create_task(reader.records(events, 0, through=5))
        await asyncio.sleep(1.0)
        assert not relay.done()
        assert await reader.partitions(letters) == [0, 1]
        await relay
        found = []
        for partition in await reader.partitions(letters):
            found.extend(await reader.records(letters, partition))
        assert len(found) == 1
    finally:
        await reader.close()


async def test_a_reader_closes_at_once_right_after_a_read(backend: Backend) -> None:
    """A service stops right after an operator's listing: the stop must not hang (after an
    unassignment, a close that met the fetcher cancelling its fetch waited forever)."""
    topic = f"reader-{secrets.token_hex(3)}.dl"
    await ensure_topics(backend.kafka_bootstrap_servers, [topic], 2)
    await produce(backend.kafka_bootstrap_servers, topic, b"{}", {}, key=b"k")
    reader = PartitionReader(backend.kafka_bootstrap_servers)
    found = [len(await reader.records(topic, partition)) for partition in (0, 1)]
    assert sorted(found) == [0, 1]
    # Waited on, not wait_for: the hung close swallows wait_for's cancellation too.
    closing = asyncio.create_task(reader.close())
    done, _ = await asyncio.wait({closing}, timeout=5)
    assert closing in done, "the reader did not close within 5 s of its last read"
