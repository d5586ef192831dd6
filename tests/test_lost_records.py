"""The relay publishes again what a broker that restarted empty lost, on the real local
store: also when the first batch after the restart lands past the last offset it had
acknowledged on that partition. That batch's own rows once hid the loss (the check read
them back as the furthest record), and four events before the restart never came back:
seen as the broker-restart fault test's identity log missing enrolments."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from telemachus.shared.runtime.lost_records import EVENT_ID_HEADER, LostRecords, Placed
from telemachus.shared.runtime.store import Document
from telemachus.shared.testing.backends import Backend

TOPIC = "telemachus.hospital.identity"


class EmptiedBroker:
    """A partition log as the broker holds it after a restart: only what came since."""

    def __init__(self) -> None:
        self.log: list[str] = []

    async def event_at(self, topic: str, partition: int, offset: int) -> str | None:
        return self.log[offset] if offset < len(self.log) else None

    async def event_ids(self, topic: str, partition: int, through: int) -> set[str]:
        return set(self.log)

    async def recreate_topics(self) -> list[str]:
        return []


@pytest.fixture
async def outbox(backend: Backend) -> AsyncIterator[AsyncCollection[Document]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(backend.mongodb_uri)
    try:
        yield client[f"lost-{secrets.token_hex(3)}"]["outbox"]
    finally:
        await client.close()


async def sent(outbox: AsyncCollection[Document], events: list[str]) -> list[Placed]:
    """Rows the relay sent, at offsets 0, 1, ... of partition 0."""
    placed: list[Placed] = [(ObjectId(), (TOPIC, 0), offset, e) for offset, e in enumerate(events)]
    await outbox.insert_many(
        [
            {
                "_id": row_id,
                "topic": TOPIC,
                "partition": 0,
                "offset": offset,
                "sent_at": datetime.now(UTC),
                "headers": {EVENT_ID_HEADER: event},
            }
            for row_id, _, offset, event in placed
        ]
    )
    return placed


async def test_a_first_batch_past_the_old_end_still_brings_back_what_was_lost(
    outbox: AsyncCollection[Document],
) -> None:
    before = [f"before-{i}" for i in range(4)]
    await sent(outbox, before)  # acknowledged at offsets 0-3; then the broker restarts empty
    broker = EmptiedBroker()
    # The relay knows nothing cached (it recovered another partition a moment ago).
    lost = LostRecords(outbox, broker, check_seconds=5)
    after = [f"after-{i}" for i in range(6)]
    broker.log = list(after)  # the new log: six events at offsets 0-5, one batch
    placed = await sent(outbox, after)  # marked sent before the relay looks (as it does)

    await lost.published(placed)

    again = await outbox.find({"sent_at": None}).to_list(None)
    assert sorted(r["headers"][EVENT_ID_HEADER] for r in again) == before
    assert all(r["republish"] and "offset" not in r for r in again)
