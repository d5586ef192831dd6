"""The unit of work on the real store: changes to many aggregates are written together,
and a change that lost a race to another writer fails the whole transaction (optimistic
concurrency), whether it is the only change or one of a batch's hundred."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from telemachus.shared.domain import Aggregate
from telemachus.shared.errors import Conflict
from telemachus.shared.runtime.documents import from_document
from telemachus.shared.runtime.outbox import OUTBOX_COLLECTION, Publication
from telemachus.shared.runtime.repository import MongoRepository
from telemachus.shared.runtime.store import Document
from telemachus.shared.runtime.unit_of_work import MongoUnitOfWork
from telemachus.shared.testing.backends import Backend
from telemachus.shared.testing.samples import program_published
from tests.helpers.store_reads import Finds

PUBLICATION = Publication("telemachus.inst-a.pairing", "/telemachus/inst-a/pairing")


class Seat(Aggregate):
    taken_by: str | None = None


Store = tuple[AsyncMongoClient[Document], AsyncDatabase[Document]]


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(backend.mongodb_uri)
    db = client[f"uow-{secrets.token_hex(3)}"]
    await db["seats"].insert_many([{"_id": f"s{i:03}", "version": 0} for i in range(100)])
    try:
        yield client, db
    finally:
        await client.close()


def unit(store: Store) -> MongoUnitOfWork:
    return MongoUnitOfWork(*store, PUBLICATION)


async def seats(uow: MongoUnitOfWork, *ids: str) -> list[Seat]:
    repository = MongoRepository(uow, "seats", Seat)
    found = [await repository.get(i) for i in ids]
    assert all(found)
    return [s for s in found if s is not None]


async def read_before(uow: MongoUnitOfWork, *ids: str) -> list[Seat]:
    """Seats read before the transaction's snapshot (as a view read before a command),
    then held by it: only the version each was read at can tell that another writer
    came in between (inside one snapshot the store itself refuses, WriteConflict)."""
    documents = await uow.db["seats"].find({"_id": {"$in": list(ids)}}).to_list(None)
    loaded = sorted((from_document(Seat, d) for d in documents), key=lambda s: s.id)
    for seat in loaded:
        uow.track(seat, "seats", new=False)
    return loaded


async def test_a_hundred_changes_are_written_in_one_commit(
    store: Store,
) -> None:
    async with unit(store) as uow:
        for seat in await seats(uow, *(f"s{i:03}" for i in range(100))):
            seat.taken_by = f"p-{seat.id}"
        await uow.commit()
    documents = await store[1]["seats"].find().to_list(None)
    assert {(d["taken_by"], d["version"]) for d in documents} == {
        (f"p-s{i:03}", 1) for i in range(100)
    }


@pytest.mark.parametrize("batch", [1, 50], ids=["alone", "one-of-a-batch"])
async def test_a_change_that_lost_a_race_fails_the_whole_transaction(
    store: Store, batch: int
) -> None:
    ids = [f"s{i:03}" for i in range(batch)]
    async with unit(store) as late:
        loaded = await read_before(late, *ids)
        async with unit(store) as first:  # another request changes the last seat meanwhile
            (theirs,) = await seats(first, ids[-1])
            theirs.taken_by = "first"
            await first.commit()
        for seat in loaded:
            seat.taken_by = "late"
        late.publish(program_published("inst-a:program-1"))
        with pytest.raises(Conflict, match=f"seats .*{ids[-1] if batch == 1 else ''}"):
            await late.commit()
    documents = {d["_id"]: d for d in await store[1]["seats"].find().to_list(None)}
    assert documents[ids[-1]]["taken_by"] == "first"
    assert all("taken_by" not in documents[i] for i in ids[:-1])  # nothing of it stayed
    assert await store[1][OUTBOX_COLLECTION].count_documents({}) == 0


async def test_removing_what_another_changed_is_refused(
    store: Store,
) -> None:
    async with unit(store) as late:
        (seat,) = await read_before(late, "s007")
        async with unit(store) as first:
            (theirs,) = await seats(first, "s007")
            theirs.taken_by = "first"
            await first.commit()
        MongoRepository(late, "seats", Seat).remove(seat)
        with pytest.raises(Conflict, match="seats s007 was changed meanwhile"):
            await late.commit()
    assert await store[1]["seats"].count_documents({"_id": "s007"}) == 1


async def test_a_batch_reads_what_it_will_get_at_once(backend: Backend, store: Store) -> None:
    """repository.load: one read for a batch's aggregates, found or not; each get after it
    is answered from the unit of work, and what the batch adds is seen by a later get."""
    finds = Finds()
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        backend.mongodb_uri, event_listeners=[finds]
    )
    try:
        async with MongoUnitOfWork(client, client[store[1].name], PUBLICATION) as uow:
            seats = MongoRepository(uow, "seats", Seat)
            await seats.load(["s001", "s002", "nowhere"])
            assert finds.count == 1
            one, two, missing = [await seats.get(i) for i in ("s001", "s002", "nowhere")]
            assert one is not None and two is not None and missing is None
            seats.add(Seat(id="nowhere", taken_by="new"))
            assert (await seats.get("nowhere")) == Seat(id="nowhere", taken_by="new")
            assert finds.count == 1
            one.taken_by = "p1"
            await uow.commit()
    finally:
        await client.close()
    documents = {d["_id"]: d for d in await store[1]["seats"].find().to_list(None)}
    assert documents["s001"]["taken_by"] == "p1" and documents["nowhere"]["taken_by"] == "new"


async def test_events_are_numbered_per_thing_and_new_counters_are_not_read_back(
    backend: Backend, store: Store
) -> None:
    """sequences.numbered: each thing's events follow its counter in the order given; a
    counter the commit creates holds just its own count, so only older ones are read."""
    finds = Finds()
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        backend.mongodb_uri, event_listeners=[finds]
    )
    a, b, c = (program_published(f"inst-a:program-{x}") for x in "abc")
    try:
        async with MongoUnitOfWork(client, client[store[1].name], PUBLICATION) as uow:
            uow.publish(a, b, a)  # a and b new: nothing to read back
            await uow.commit()
        assert finds.count == 0
        async with MongoUnitOfWork(client, client[store[1].name], PUBLICATION) as uow:
            uow.publish(c, a, c, b, a)  # c new, a and b known: one read, of those two
            await uow.commit()
        assert finds.count == 1
    finally:
        await client.close()
    rows = await store[1][OUTBOX_COLLECTION].find().sort("_id", 1).to_list(None)
    payloads = [json.loads(r["payload"]) for r in rows]
    numbered = [(p["program_id"][-1], p["sequence"]) for p in payloads]
    assert numbered == [
        ("a", 1),
        ("b", 1),
        ("a", 2),
        ("c", 1),
        ("a", 3),
        ("c", 2),
        ("b", 2),
        ("a", 4),
    ]
