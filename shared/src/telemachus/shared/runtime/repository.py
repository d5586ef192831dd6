"""A repository of one aggregate type in one collection, inside a unit of work."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Generic, TypeVar, cast

from telemachus.shared.domain import Aggregate
from telemachus.shared.runtime.documents import from_document
from telemachus.shared.runtime.unit_of_work import MongoUnitOfWork

A = TypeVar("A", bound=Aggregate)


class MongoRepository(Generic[A]):
    def __init__(self, uow: MongoUnitOfWork, collection: str, model: type[A]) -> None:
        self._uow = uow
        self._collection = collection
        self._model = model

    async def get(self, aggregate_id: str) -> A | None:
        held = self._uow.holds(self._collection, aggregate_id)
        if held is not None:
            return None if held.removed else cast(A, held.aggregate)
        if self._uow.known_absent(self._collection, aggregate_id):
            return None
        document = await self._uow.db[self._collection].find_one(
            {"_id": aggregate_id}, session=self._uow.session
        )
        if document is None:
            return None
        aggregate = from_document(self._model, document)
        self._uow.track(aggregate, self._collection, new=False)
        return aggregate

    async def load(self, aggregate_ids: Iterable[str]) -> None:
        """Read these at once (a batch's prefetch, see MessageBus): each `get` of one of
        them then costs no round trip, whether it was found or not."""
        wanted = [
            i
            for i in dict.fromkeys(aggregate_ids)
            if self._uow.holds(self._collection, i) is None
            and not self._uow.known_absent(self._collection, i)
        ]
        if not wanted:
            return
        cursor = self._uow.db[self._collection].find(
            {"_id": {"$in": wanted}}, session=self._uow.session
        )
        for document in await cursor.to_list(None):
            self._uow.track(from_document(self._model, document), self._collection, new=False)
        self._uow.absent(
            self._collection, [i for i in wanted if self._uow.holds(self._collection, i) is None]
        )

    async def find(self, query: Mapping[str, Any], limit: int = 0) -> list[A]:
        cursor = self._uow.db[self._collection].find(dict(query), session=self._uow.session)
        aggregates = [from_document(self._model, d) for d in await cursor.to_list(limit or None)]
        for aggregate in aggregates:
            self._uow.track(aggregate, self._collection, new=False)
        return aggregates

    def held(self) -> list[A]:
        """What this unit of work holds of the collection (added or loaded so far)."""
        return [cast(A, a) for a in self._uow.held_in(self._collection)]

    def add(self, aggregate: A) -> None:
        self._uow.track(aggregate, self._collection, new=True)

    def remove(self, aggregate: A) -> None:
        self._uow.remove(aggregate, self._collection)

    async def remove_where(self, query: Mapping[str, Any]) -> int:
        """Delete without loading (erasure of many small records); returns how many."""
        result = await self._uow.db[self._collection].delete_many(
            dict(query), session=self._uow.session
        )
        return result.deleted_count
