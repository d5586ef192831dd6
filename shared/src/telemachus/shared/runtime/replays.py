"""Replay detection: where each event (CloudEvents `source` + `id`) was first read.

Kafka redelivers a record at the same topic, partition and offset (after a rebalance or a
restart); the inbox makes that harmless. The same `source` + `id` at another position is
someone publishing a recorded event again: refused. (An outbox relay that crashed between
sending and marking a row sent publishes that row twice; the second copy is refused too,
which is harmless, since the first was handled.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from telemachus.shared.runtime.store import Document

POSITIONS_COLLECTION = "event_positions"
DUPLICATE_KEY = 11000


@dataclass(frozen=True)
class Position:
    topic: str
    partition: int
    offset: int


class FirstSeen:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    async def replayed_from(self, event_id: str, here: Position) -> Position | None:
        """Where this event was first read, if not here; remembers `here` if it is new.
        One round trip: read and remember at once (a consumer of one event at a time)."""
        for _ in range(2):  # a concurrent first insert wins; read it then
            try:
                before = await self._collection.find_one_and_update(
                    {"_id": event_id}, {"$setOnInsert": vars(here)}, upsert=True
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

    async def replayed_among(self, read: Sequence[tuple[str, Position]]) -> list[Position | None]:
        """For each (event, where it was read now) in a polled batch: where it was first
        read, if not there. Remembers the new ones. Two round trips for the whole batch, so
        a consumer of hundreds of events per poll does not pay one per event; one alone
        takes the single read-and-remember."""
        if len(read) <= 1:
            return [await self.replayed_from(*one) for one in read]
        ids = list(dict.fromkeys(event_id for event_id, _ in read))
        first = await self._recorded(ids)
        new: dict[str, Position] = {}
        for event_id, here in read:
            if event_id not in first:
                new.setdefault(event_id, here)  # a second copy in this batch is a replay
        if new:
            try:
                await self._collection.insert_many(
                    [{"_id": i, **vars(p)} for i, p in new.items()], ordered=False
                )
            except BulkWriteError as error:
                # A concurrent first reader (a rebalance's other member) won for these.
                raced = _duplicates(error, list(new))
                for event_id in raced:
                    del new[event_id]
                first.update(await self._recorded(raced))
        first.update(new)
        return [None if first[i] == here else first[i] for i, here in read]

    async def _recorded(self, event_ids: list[str]) -> dict[str, Position]:
        found = self._collection.find({"_id": {"$in": event_ids}})
        return {
            d["_id"]: Position(d["topic"], d["partition"], d["offset"])
            for d in await found.to_list(None)
        }


def _duplicates(error: BulkWriteError, inserted: list[str]) -> list[str]:
    """The ids of `inserted` refused as already there; any other write error is raised."""
    refused = error.details.get("writeErrors", [])
    if any(e.get("code") != DUPLICATE_KEY for e in refused):
        raise error
    return [inserted[e["index"]] for e in refused]
