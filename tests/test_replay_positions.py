"""Replay detection reads and records a polled batch's positions at once, on the real
store: a second copy inside the batch, a copy in a later batch, a redelivery at the same
place, and two consumers recording the same events at the same moment (a rebalance)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient

from telemachus.shared.runtime.replays import FirstSeen, Position
from telemachus.shared.runtime.store import Document
from telemachus.shared.testing.backends import Backend


@pytest.fixture
async def first_seen(backend: Backend) -> AsyncIterator[FirstSeen]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(backend.mongodb_uri)
    try:
        yield FirstSeen(client[f"replays-{secrets.token_hex(3)}"]["event_positions"])
    finally:
        await client.close()


def at(offset: int, partition: int = 0) -> Position:
    return Position("telemachus.a.identity", partition, offset)


async def test_a_copy_at_another_place_is_a_replay_in_the_same_batch_or_a_later_one(
    first_seen: FirstSeen,
) -> None:
    assert await first_seen.replayed_among([("a", at(1)), ("b", at(2)), ("a", at(3))]) == [
        None,
        None,
        at(1),
    ]
    # Redelivered where it was first read (a rebalance, a restart): not a replay.
    assert await first_seen.replayed_among([("a", at(1)), ("b", at(9, 2)), ("c", at(4))]) == [
        None,
        at(2),
        None,
    ]
    assert await first_seen.replayed_from("c", at(4)) is None
    assert await first_seen.replayed_from("c", at(5)) == at(4)


async def test_two_readers_recording_at_once_agree_on_who_read_first(
    first_seen: FirstSeen,
) -> None:
    ids = [f"e{i}" for i in range(30)]
    mine, theirs = await asyncio.gather(
        first_seen.replayed_among([(e, at(i)) for i, e in enumerate(ids)]),
        first_seen.replayed_among([(e, at(100 + i)) for i, e in enumerate(ids)]),
    )
    for i, (one, other) in enumerate(zip(mine, theirs, strict=True)):
        # Exactly one of them read each event first; the other is told where.
        assert (one, other) in ((None, at(i)), (at(100 + i), None))
