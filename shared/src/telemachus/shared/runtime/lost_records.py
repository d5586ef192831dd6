"""Publishing again what the broker lost.

Only the relay that holds the lease writes to a service's topic, so the record at the
last offset the broker acknowledged to it stays there, and a new record never gets an
offset at or below it. When either fails, the broker lost records: the local broker keeps
everything in memory and a restart loses it all; a real cluster can lose a suffix after an
unclean leader election. The relay then re-creates the service's topics if they are gone,
reads which events the partition still holds, and marks every other outbox row of it as
unsent again. They go out again in their first order, flagged as republished, so consumers
let their inbox decide (handled: skipped; never handled: handled now) instead of refusing
them as replays. Rows older than the outbox's retention cannot come back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection

from telemachus.shared.contracts.envelope import HEADER_PREFIX
from telemachus.shared.runtime.store import Document, update_many_alone

# On a record the relay publishes again; not signed, and it only ever lets the consumer's
# inbox decide, as it does for any redelivery.
REPUBLISHED_HEADER = "telemachus_republished"
EVENT_ID_HEADER = f"{HEADER_PREFIX}id"
log = logging.getLogger(__name__)

Partition = tuple[str, int]


class BrokerLog(Protocol):
    async def event_at(self, topic: str, partition: int, offset: int) -> str | None:
        """The id of the event at this position, or None when there is none."""
        ...

    async def event_ids(self, topic: str, partition: int, through: int) -> set[str]:
        """The ids of every event the partition holds (we know of records to `through`)."""
        ...

    async def recreate_topics(self) -> list[str]:
        """Create the service's topics again where the broker has lost them; which."""
        ...


# (row id, where the broker put it, its event id)
Placed = tuple[ObjectId, Partition, int, str]


class LostRecords:
    def __init__(
        self,
        collection: AsyncCollection[Document],
        broker_log: BrokerLog,
        *,
        check_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        on_loss: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._collection = collection
        self._broker_log = broker_log
        self._check_seconds = check_seconds
        self._clock = clock
        # The service's own recovery (its consumers re-join): see broker_watch.
        self._on_loss = on_loss
        # Per partition: the last offset the broker acknowledged to us, and its event.
        self._last: dict[Partition, tuple[int, str]] | None = None
        self._checked_at = float("-inf")

    def forget(self) -> None:
        """The lease went to another replica: what it publishes is not known here."""
        self._last = None

    def check_soon(self) -> None:
        """After a failed publish: the broker may have come back empty."""
        self._checked_at = float("-inf")

    async def check_if_due(self) -> None:
        if self._clock() - self._checked_at < self._check_seconds:
            return
        lost = [
            (topic, partition)
            for (topic, partition), (offset, event_id) in list((await self._known()).items())
            if await self._broker_log.event_at(topic, partition, offset) != event_id
        ]
        await self._recover_all(lost)
        self._checked_at = self._clock()

    async def published(self, placed: Sequence[Placed]) -> None:
        """After a batch: an offset at or below the last one acknowledged means the
        partition was cut or emptied since."""
        # What was acknowledged before this batch: its rows are already marked, and read
        # back they would stand as the furthest record and hide a loss below them.
        last = await self._known(excluding=[row_id for row_id, _, _, _ in placed])
        ours = {event_id for _, _, _, event_id in placed}
        regressed = {
            p
            for _, p, offset, _ in placed
            if p in last and last[p][1] not in ours and offset <= last[p][0]
        }
        for _, partition, offset, event_id in placed:
            if partition not in last or offset > last[partition][0]:
                last[partition] = (offset, event_id)
        await self._recover_all(sorted(regressed))

    async def _known(self, excluding: Sequence[ObjectId] = ()) -> dict[Partition, tuple[int, str]]:
        if self._last is None:
            sent = {"sent_at": {"$ne": None}, "offset": {"$exists": True}}
            found = await self._collection.aggregate(
                [
                    {"$match": {**sent, "_id": {"$nin": list(excluding)}}},
                    {"$sort": {"offset": -1}},
                    {
                        "$group": {
                            "_id": {"topic": "$topic", "partition": "$partition"},
                            "offset": {"$first": "$offset"},
                            "event_id": {"$first": f"$headers.{EVENT_ID_HEADER}"},
                        }
                    },
                ]
            )
            self._last = {
                (g["_id"]["topic"], g["_id"]["partition"]): (g["offset"], g["event_id"])
                for g in await found.to_list(None)
            }
        return self._last

    async def _recover_all(self, partitions: Sequence[Partition]) -> None:
        topics_lost = False
        for partition in partitions:
            topics_lost |= await self._recover(partition)
        # The service's consumers re-join only if the broker lost its topics (it restarted
        # empty). Records lost from a topic it still has (a send in flight when it went,
        # failing only at the client's timeout, a minute later) are published again, and
        # nothing else is redone: that is the same outage, recovered once.
        if topics_lost and self._on_loss is not None:
            await self._on_loss()

    async def _recover(self, partition: Partition) -> bool:
        """Publishes again what `partition` lost; True when the topics were gone too."""
        created = await self._broker_log.recreate_topics()
        topic, number = partition
        furthest = await self._collection.find_one(
            {"topic": topic, "partition": number, "offset": {"$exists": True}},
            sort=[("offset", -1)],
        )
        held = await self._broker_log.event_ids(
            topic, number, furthest["offset"] if furthest else 0
        )
        result = await update_many_alone(
            self._collection,
            {
                "topic": topic,
                "partition": number,
                "sent_at": {"$ne": None},
                f"headers.{EVENT_ID_HEADER}": {"$nin": sorted(held)},
            },
            {"$set": {"sent_at": None, "republish": True}, "$unset": {"offset": ""}},
        )
        self._last = None  # read again from what is marked sent now
        if result.modified_count or created:
            log.warning(
                "the broker lost %d records of %s[%d] (it holds %d of ours); publishing "
                "them again from the outbox",
                result.modified_count,
                topic,
                number,
                len(held),
            )
        else:
            # The record at the last position did not come back in time (a slow fetch):
            # read in full, the partition holds all of ours. Not an operator's concern.
            log.info("%s[%d] holds all %d of our records", topic, number, len(held))
        return bool(created)
