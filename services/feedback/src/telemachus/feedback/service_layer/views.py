"""Read side of feedback."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from telemachus.feedback.domain.model import FeedbackWindow
from telemachus.feedback.service_layer.unit_of_work import WINDOWS
from telemachus.shared.runtime.store import Document
from telemachus.shared.runtime.views import read_many


class FeedbackViews:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._db = db

    async def windows(self, relationship_id: str | None) -> list[FeedbackWindow]:
        query = {"relationship_id": relationship_id} if relationship_id else {}
        return await read_many(self._db, WINDOWS, FeedbackWindow, query)
