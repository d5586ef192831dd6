"""Replay detection: where each event (CloudEvents `source` + `id`) was first read.

Kafka redelivers a record at the same topic, partition and offset (after a rebalance or a
restart); the inbox makes that harmless. The same `source` + `id` at another position is
someone publishing a recorded event again: refused. (An outbox relay that crashed between
sending and marking a row sent publishes that row twice; the second copy is refused too,
which is harmless, since the first was handled.)
"""

from __future__ import annotations

from dataclasses import dataclass

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from telemachus.shared.runtime.store import Document

POSITIONS_COLLECTION = "event_positions"


@dataclass(frozen=True)
class Position:
    topic: str
    partition: int
    offset: int


class FirstSeen:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    async def replayed_from(self, event_id: str, here: Position) -> Position | None:
        """Where this event was first read, if not here; remembers `here` if it is new."""
        for _ in range(2):  # a concurrent first insert wins; read it then
            try:
                before = await self._collection.find_one_and_update(
                    {"_id": event_id},
                    {
                        "$setOnInsert": {
                            "topic": here.topic,
                            "partition": here.partition,
                            "offset": here.offset,
                        }
                    },
                    upsert=True,
                    return_document=ReturnDocument.BEFORE,
                )
                break
            except DuplicateKeyError:
                continue
        else:
            raise RuntimeError(f"could not record the position of {event_id}")
        if before is None:
            return None
        first = Position(before["topic"], before["partition"], before["offset"])
        return None if first == here else first
