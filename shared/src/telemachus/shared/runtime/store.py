"""MongoDB access through PyMongo's async API, instrumented before the client exists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import AutoReconnect
from pymongo.results import UpdateResult

from telemachus.shared.runtime.telemetry import instrument_process

Document = dict[str, Any]


def create_mongo_client(
    uri: str, app_name: str, credentials: dict[str, str] | None = None
) -> AsyncMongoClient[Document]:
    # Spans are only recorded for clients created after the instrumentor registered.
    instrument_process()
    options: dict[str, Any] = {
        "appname": app_name,
        "tz_aware": True,
        "connect": False,
        **(credentials or {}),
    }
    return AsyncMongoClient(uri, **options)


async def ping(client: AsyncMongoClient[Document]) -> None:
    """The store answers. A pooled connection the server dropped while idle fails once
    with AutoReconnect and is replaced: one more try, so readiness does not flap on it."""
    try:
        await client.admin.command("ping")
    except AutoReconnect:
        await client.admin.command("ping")


async def update_many_alone(
    collection: AsyncCollection[Document], query: Mapping[str, Any], update: Mapping[str, Any]
) -> UpdateResult:
    """`update_many` outside any unit of work, in a short transaction of its own.

    Outside a transaction, the local store (SecantusDB) retries a multi-document update
    that meets another transaction's uncommitted change while holding the collection, so
    that transaction's next write there waits for ever, and with it every later request:
    the store is wedged. In a transaction the conflict comes back at once, and PyMongo's
    `with_transaction` retries it with backoff. On MongoDB it costs one round trip more.
    """

    async def write(session: AsyncClientSession) -> UpdateResult:
        return await collection.update_many(dict(query), dict(update), session=session)

    async with collection.database.client.start_session() as session:
        return await session.with_transaction(write)
