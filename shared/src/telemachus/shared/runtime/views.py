"""Read-side helpers: aggregates straight from the store, no unit of work needed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from pymongo.asynchronous.database import AsyncDatabase

from telemachus.shared.domain import Aggregate
from telemachus.shared.errors import found
from telemachus.shared.runtime.documents import from_document
from telemachus.shared.runtime.store import Document

A = TypeVar("A", bound=Aggregate)


async def read_one(
    db: AsyncDatabase[Document], collection: str, model: type[A], key: str
) -> A | None:
    document = await db[collection].find_one({"_id": key})
    return from_document(model, document) if document else None


async def read_many(
    db: AsyncDatabase[Document], collection: str, model: type[A], query: Mapping[str, Any]
) -> list[A]:
    """Every match: callers count and decide on all of it, and HTTP lists are paged on top
    (paging.py), never cut here without a word."""
    documents = await db[collection].find(dict(query)).sort("_id").to_list(None)
    return [from_document(model, d) for d in documents]


def led_programs(
    read: Callable[[str], Awaitable[A | None]], institution: str
) -> Callable[[str], Awaitable[A]]:
    """`program_of(id)` for the HTTP routes of a program's lead: the program, or a 404 that
    names `program_id` (another institution's program is not found here either)."""

    async def program_of(program_id: str) -> A:
        return found(
            await read(program_id), f"program {program_id} led by {institution}", field="program_id"
        )

    return program_of
