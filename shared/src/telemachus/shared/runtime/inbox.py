"""The inbox: ids of handled events, written in the same transaction as their effect."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from telemachus.shared.contracts.envelope import CloudEventAttributes
from telemachus.shared.runtime.sequences import Sequenced
from telemachus.shared.runtime.store import Document

INBOX_COLLECTION = "inbox"


def inbox_id(attributes: CloudEventAttributes) -> str:
    """CloudEvents: `source` + `id` identify an event; the same pair is the same event."""
    return f"{attributes.source}#{attributes.id}"


@dataclass(frozen=True)
class InboxEntry:
    """An inbound event as the inbox records it: its id, and where it stands among its
    publisher's events about one thing (None for records from before sequences)."""

    id: str
    sequenced: Sequenced | None = None


class Inbox:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    async def seen_among(self, event_ids: list[str], session: AsyncClientSession) -> set[str]:
        found = self._collection.find({"_id": {"$in": event_ids}}, {"_id": 1}, session=session)
        return {document["_id"] for document in await found.to_list(None)}

    async def claim(self, event_id: str, session: AsyncClientSession) -> None:
        """Record one event as handled; DuplicateKeyError when it already was."""
        await self._collection.insert_one(
            {"_id": event_id, "handled_at": datetime.now(UTC)}, session=session
        )

    async def record(self, event_ids: list[str], session: AsyncClientSession) -> None:
        # The unique _id makes a concurrent duplicate fail the transaction rather than pass.
        now = datetime.now(UTC)
        await self._collection.insert_many(
            [{"_id": event_id, "handled_at": now} for event_id in event_ids],
            ordered=True,
            session=session,
        )
