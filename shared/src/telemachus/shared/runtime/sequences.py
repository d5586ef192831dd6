"""Per-aggregate sequences: a publisher numbers the events it makes about one thing, and a
reader ignores an event older than what it already holds about that thing.

Kafka keeps one key's records in order, but an older fact can still arrive after a newer
one: published again (a dead letter replayed after a fix, what the relay re-publishes
after the broker lost its log, an operator's mistake), each with a new event id that the
inbox cannot recognise. Without a sequence it overwrites newer state: an old profile over
a new one, a withdrawn person back in a pool.

The publisher's counter is bumped in the transaction that commits the events, so the
numbers of one thing follow the order its changes committed in. The reader's mark moves
in the transaction that records the event in its inbox, so a mark never runs ahead of
what the read model holds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.runtime.store import Document

# The publisher's counters, by `sequenced_id`: {_id, n}.
COUNTERS_COLLECTION = "event_sequences"
# The reader's marks, by publisher and `sequenced_id`: {_id: "<source>|<id>", n}. They hold
# a pseudonymous ref and a number, and stay after an erasure: a stale fact about an erased
# person must not bring them back either.
HELD_COLLECTION = "event_sequences_held"


@dataclass(frozen=True)
class Sequenced:
    """Where an inbound event stands among its publisher's events about one thing."""

    of: str  # "<source>|<sequenced_id>"
    n: int


def sequenced(source: str, event: IntegrationEvent) -> Sequenced | None:
    """None for records from before publishers numbered their events."""
    if event.sequence is None:
        return None
    return Sequenced(f"{source}|{event.sequenced_id}", event.sequence)


async def numbered(
    events: list[IntegrationEvent], db: AsyncDatabase[Document], session: AsyncClientSession
) -> list[IntegrationEvent]:
    """The events with their sequences, in the order given: at most two round trips per
    commit whatever the number of events (a CSV import commits hundreds at once)."""
    if not events:
        return events
    counts = Counter(event.sequenced_id for event in events)
    counters = db[COUNTERS_COLLECTION]
    if len(counts) == 1:
        # The common case (one thing changed): one round trip, not an update and a read.
        ((of, k),) = counts.items()
        after = await counters.find_one_and_update(
            {"_id": of},
            {"$inc": {"n": k}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        assert after is not None  # upserted
        first = int(after["n"]) - k
        return [
            event.model_copy(update={"sequence": first + i}) for i, event in enumerate(events, 1)
        ]
    ids = list(counts)
    written = await counters.bulk_write(
        [UpdateOne({"_id": of}, {"$inc": {"n": k}}, upsert=True) for of, k in counts.items()],
        ordered=False,
        session=session,
    )
    # A counter this write created holds just its own count: only older ones are read back
    # (a batch about new things, hundreds of new people enrolling, reads nothing).
    last = {ids[i]: counts[ids[i]] for i in written.upserted_ids or {}}
    older = [of for of in ids if of not in last]
    if older:
        found = counters.find({"_id": {"$in": older}}, session=session)
        last |= {document["_id"]: int(document["n"]) for document in await found.to_list(None)}
    following = {of: last[of] - k for of, k in counts.items()}
    result = []
    for event in events:
        following[event.sequenced_id] += 1
        result.append(event.model_copy(update={"sequence": following[event.sequenced_id]}))
    return result


class HeldSequences:
    """The reader's side: the latest sequence it holds per publisher and thing."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._collection = db[HELD_COLLECTION]

    async def advance(self, mark: Sequenced, session: AsyncClientSession) -> bool:
        """Hold `mark` unless something as new or newer is held: False for a stale event."""
        before = await self._collection.find_one_and_update(
            {"_id": mark.of},
            {"$max": {"n": mark.n}},
            upsert=True,
            return_document=ReturnDocument.BEFORE,
            session=session,
        )
        return before is None or int(before["n"]) < mark.n

    async def held(self, of: Iterable[str], session: AsyncClientSession) -> dict[str, int]:
        found = self._collection.find({"_id": {"$in": list(set(of))}}, session=session)
        return {document["_id"]: int(document["n"]) for document in await found.to_list(None)}

    async def hold(self, marks: dict[str, int], session: AsyncClientSession) -> None:
        if marks:
            await self._collection.bulk_write(
                [
                    UpdateOne({"_id": of}, {"$max": {"n": n}}, upsert=True)
                    for of, n in marks.items()
                ],
                ordered=False,
                session=session,
            )
