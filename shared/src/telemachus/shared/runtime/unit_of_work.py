"""A MongoDB unit of work: state, inbox ids and outbox rows commit in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from pymongo import AsyncMongoClient, DeleteOne, ReplaceOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.domain import Aggregate
from telemachus.shared.errors import Conflict
from telemachus.shared.runtime.documents import to_document
from telemachus.shared.runtime.inbox import INBOX_COLLECTION, Inbox, InboxEntry
from telemachus.shared.runtime.outbox import (
    OUTBOX_COLLECTION,
    Publication,
    current_carrier,
    outbox_row,
)
from telemachus.shared.runtime.sequences import HeldSequences, numbered
from telemachus.shared.runtime.store import Document

# Maps a domain event to the wire event published for it (None: stays inside the service).
EventMapper = Callable[[object], IntegrationEvent | None]


@dataclass
class _Tracked:
    aggregate: Aggregate
    collection: str
    new: bool
    loaded: Document  # as read, to tell a changed aggregate from one only looked at
    removed: bool = False


class MongoUnitOfWork:
    """Subclasses add the service's repositories, built on `self.session` and `self.db`.

    Use a fresh one per request or message: `async with uow: ...; await uow.commit()`.
    Leaving the block without commit aborts everything, events included.
    """

    def __init__(
        self,
        client: AsyncMongoClient[Document],
        db: AsyncDatabase[Document],
        publication: Publication,
        after_commit: Callable[[], None] = lambda: None,
        event_mapper: EventMapper = lambda event: None,
    ) -> None:
        self.client = client
        self.db = db
        self._publication = publication
        self._after_commit = after_commit
        self._event_mapper = event_mapper
        self._tracked: dict[tuple[str, str], _Tracked] = {}
        self._inbox = Inbox(db[INBOX_COLLECTION])
        self._held = HeldSequences(db)
        self._session: AsyncClientSession | None = None
        self._events: list[IntegrationEvent] = []
        # Per event, the trace context it was caused in (its outbox row carries it on).
        self._carriers: list[dict[str, str]] = []
        self._handled: list[str] = []
        self._marks: dict[str, int] = {}
        self._absent: set[tuple[str, str]] = set()

    @property
    def session(self) -> AsyncClientSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._session

    async def __aenter__(self) -> Self:
        self._session = self.client.start_session()
        await self._session.start_transaction()
        self._events, self._handled, self._tracked, self._marks = [], [], {}, {}
        self._carriers = []
        self._absent = set()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self.session, None
        try:
            if session.in_transaction:
                await session.abort_transaction()
        finally:
            await session.end_session()

    async def claim(self, entry: InboxEntry) -> bool:
        """Record the event as handled now, in this transaction; a duplicate raises
        DuplicateKeyError (and the transaction is void). False when it is older than what
        this service holds about its aggregate: recorded, and to be left without effect."""
        await self._inbox.claim(entry.id, self.session)
        if entry.sequenced is None:
            return True
        return await self._held.advance(entry.sequenced, self.session)

    async def handled_among(self, event_ids: list[str]) -> set[str]:
        return await self._inbox.seen_among(event_ids, self.session)

    async def held_sequences(self, of: list[str]) -> dict[str, int]:
        return await self._held.held(of, self.session)

    def mark_handled(self, entry: InboxEntry) -> None:
        """Record at commit, with the sequence it carries (see claim)."""
        self._handled.append(entry.id)
        if entry.sequenced is not None:
            mark = entry.sequenced
            self._marks[mark.of] = max(mark.n, self._marks.get(mark.of, 0))

    def track(self, aggregate: Aggregate, collection: str, *, new: bool) -> None:
        """Repositories call this; commit saves tracked aggregates and maps their events."""
        key = (collection, aggregate.id)
        if key not in self._tracked:
            # Only a loaded aggregate needs its as-read copy, to tell whether it changed.
            loaded = {} if new else to_document(aggregate)
            self._tracked[key] = _Tracked(aggregate, collection, new, loaded)

    def absent(self, collection: str, aggregate_ids: Iterable[str]) -> None:
        """Read and not found in this transaction (repository.load): not asked again."""
        self._absent.update((collection, i) for i in aggregate_ids)

    def known_absent(self, collection: str, aggregate_id: str) -> bool:
        return (collection, aggregate_id) in self._absent

    def holds(self, collection: str, aggregate_id: str) -> _Tracked | None:
        """What this unit of work already holds of an aggregate (added, loaded or removed):
        a second `get` in one transaction (a batch of events about one thing) must see the
        first one's changes, not a fresh copy whose changes would be dropped."""
        return self._tracked.get((collection, aggregate_id))

    def remove(self, aggregate: Aggregate, collection: str) -> None:
        """Delete a loaded aggregate at commit (if nobody changed it meanwhile); one added
        in this unit of work is simply not written."""
        tracked = self._tracked.get((collection, aggregate.id))
        if tracked is None:
            raise RuntimeError(
                f"remove() needs an aggregate held by this unit of work: {aggregate.id}"
            )
        if tracked.new:
            del self._tracked[(collection, aggregate.id)]
            return
        tracked.removed = True

    def held_in(self, collection: str) -> list[Aggregate]:
        """The aggregates of `collection` this unit of work holds and has not removed."""
        return [
            t.aggregate
            for (name, _), t in self._tracked.items()
            if name == collection and not t.removed
        ]

    async def forget_outbox_rows(self, key: str) -> int:
        """Erasure: drop this key's outbox rows, published or not, before new ones are added.

        Published rows would otherwise keep personal fields until their TTL; unpublished
        ones would announce facts about someone who has just asked to be forgotten.
        """
        result = await self.db[OUTBOX_COLLECTION].delete_many({"key": key}, session=self.session)
        return result.deleted_count

    def publish(self, *events: IntegrationEvent) -> None:
        """Stage events; they reach the outbox only if the transaction commits."""
        carrier = current_carrier()
        self._events.extend(events)
        self._carriers.extend(carrier for _ in events)

    def collect_events(self) -> None:
        """Stage what the held aggregates recorded so far, in the current trace context: a
        batch calls it after each message, so each event's outbox row continues the trace
        of the event that caused it, not the batch's."""
        carrier: dict[str, str] | None = None
        for tracked in self._tracked.values():
            if not tracked.aggregate.has_events:
                continue  # the usual case in a batch: one check, not a list made and dropped
            carrier = current_carrier() if carrier is None else carrier
            for event in tracked.aggregate.pop_events():
                mapped = self._event_mapper(event)
                if mapped is not None:
                    self._events.append(mapped)
                    self._carriers.append(carrier)

    async def _save_tracked(self) -> None:
        new: dict[str, list[Document]] = {}
        # Per collection, one bulk write of every change: a batch of hundreds of events
        # (or a group of commands) costs a round trip per collection, not per aggregate.
        changed: dict[str, list[tuple[str, ReplaceOne[Document] | DeleteOne]]] = {}
        self.collect_events()
        for tracked in self._tracked.values():
            aggregate = tracked.aggregate
            if tracked.new:
                new.setdefault(tracked.collection, []).append(to_document(aggregate))
                continue
            where = {"_id": aggregate.id, "version": tracked.loaded["version"]}
            if tracked.removed:
                changed.setdefault(tracked.collection, []).append((aggregate.id, DeleteOne(where)))
                continue
            current = to_document(aggregate)
            if current == tracked.loaded:
                continue  # only read: nothing to write
            aggregate.version = current["version"] = tracked.loaded["version"] + 1
            changed.setdefault(tracked.collection, []).append(
                (aggregate.id, ReplaceOne(where, current))
            )
        for collection, writes in changed.items():
            result = await self.db[collection].bulk_write(
                [write for _, write in writes], ordered=False, session=self.session
            )
            # Each write names the version it read: one that found none lost a race.
            if result.matched_count + result.deleted_count != len(writes):
                ids = [aggregate_id for aggregate_id, _ in writes]
                which = ids[0] if len(ids) == 1 else f"(one of {len(ids)}: {', '.join(ids[:3])}…)"
                raise Conflict(f"{collection} {which} was changed meanwhile")
        for collection, documents in new.items():
            await self.db[collection].insert_many(documents, ordered=True, session=self.session)

    async def commit(self) -> None:
        session = self.session
        await self._save_tracked()
        if self._events:
            events = await numbered(self._events, self.db, session)
            rows = [
                outbox_row(event, self._publication, carrier)
                for event, carrier in zip(events, self._carriers, strict=True)
            ]
            await self.db[OUTBOX_COLLECTION].insert_many(rows, ordered=True, session=session)
        if self._handled:
            await self._inbox.record(self._handled, session)
            await self._held.hold(self._marks, session)
        await session.commit_transaction()
        if self._events:
            self._after_commit()
        self._events, self._carriers, self._handled, self._marks = [], [], [], {}
