"""Group commit: commands that arrive while a group is being written share the next
transaction; a group that fails runs each of its commands again alone, so each request
gets its own answer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry import trace

from telemachus.shared.runtime.group_commit import GroupCommit


class Refused(Exception):
    pass


class Store:
    """Writes commands; one named 'bad' is refused, and takes its whole group with it."""

    def __init__(self) -> None:
        self.transactions: list[list[object]] = []
        self.written: list[object] = []

    async def together(self, messages: list[object], _: list[trace.SpanContext]) -> Sequence[Any]:
        await asyncio.sleep(0.01)  # a transaction takes a while: others arrive meanwhile
        if "bad" in messages:
            raise Refused("bad")
        self.transactions.append(messages)
        self.written += messages
        return [f"done {m}" for m in messages]

    async def alone(self, message: object) -> Any:
        await asyncio.sleep(0.01)
        if message == "bad":
            raise Refused("bad")
        self.transactions.append([message])
        self.written.append(message)
        return f"done {message}"


async def test_a_command_alone_is_written_at_once() -> None:
    store = Store()
    group = GroupCommit(store.together, store.alone)
    assert await group.submit("a") == "done a"
    assert store.transactions == [["a"]]


async def test_commands_arriving_together_share_transactions_and_each_gets_its_answer() -> None:
    store = Store()
    group = GroupCommit(store.together, store.alone)
    answers = await asyncio.gather(*(group.submit(f"m{i}") for i in range(20)))
    assert answers == [f"done m{i}" for i in range(20)]
    assert sorted(store.written, key=str) == sorted((f"m{i}" for i in range(20)), key=str)
    assert len(store.transactions) < 20  # the first alone, the rest together


async def test_a_refused_command_gets_its_own_refusal_and_the_others_are_written() -> None:
    store = Store()
    group = GroupCommit(store.together, store.alone)
    first = asyncio.create_task(group.submit("first"))
    await asyncio.sleep(0)  # the first is being written; these three wait together
    rest = [asyncio.create_task(group.submit(m)) for m in ("a", "bad", "b")]
    assert await first == "done first"
    assert await rest[0] == "done a"
    with pytest.raises(Refused):
        await rest[1]
    assert await rest[2] == "done b"
    assert "bad" not in store.written and store.written.count("a") == 1


async def test_groups_are_bounded() -> None:
    store = Store()
    group = GroupCommit(store.together, store.alone, most=4)
    await asyncio.gather(*(group.submit(i) for i in range(13)))
    assert max(len(t) for t in store.transactions) == 4
    assert sorted(store.written, key=str) == sorted(range(13), key=str)
