"""MongoDB access through PyMongo's async API, instrumented before the client exists."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import AutoReconnect

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
