"""A lease in MongoDB: which replica of a service runs a job that must run once (the relay).

The holder renews it after a third of its time has passed, so holding costs one write every
few seconds, not one per event. A replica that stops releases it; one that dies loses it
when it expires. A holder stalled past expiry may still finish the batch it had started
while another replica takes over: duplicates then reach consumers, whose inboxes absorb
them. Expiry uses each replica's wall clock, so clocks must agree to well within the term.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from telemachus.shared.runtime.store import Document

LEASES_COLLECTION = "leases"


def replica_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Lease:
    def __init__(
        self, collection: AsyncCollection[Document], name: str, owner: str, term_seconds: float
    ) -> None:
        self._collection = collection
        self._name = name
        self.owner = owner
        self._term = timedelta(seconds=term_seconds)
        self._until: datetime | None = None

    async def hold(self) -> bool:
        """True while this replica holds the lease (taking or renewing it as needed)."""
        now = datetime.now(UTC)
        if self._until is not None and now < self._until - self._term * 2 / 3:
            return True
        try:
            await self._collection.find_one_and_update(
                {"_id": self._name, "$or": [{"owner": self.owner}, {"expires_at": {"$lt": now}}]},
                {"$set": {"owner": self.owner, "expires_at": now + self._term}},
                upsert=True,
            )
        except DuplicateKeyError:
            # The document exists and another replica holds it, unexpired.
            self._until = None
            return False
        self._until = now + self._term
        return True

    async def release(self) -> None:
        if self._until is None:
            return
        self._until = None
        await self._collection.update_one(
            {"_id": self._name, "owner": self.owner},
            {"$set": {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}},
        )
