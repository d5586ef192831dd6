"""Read side of sessions."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from telemachus.sessions.domain.model import Relationship
from telemachus.sessions.service_layer.unit_of_work import RELATIONSHIPS
from telemachus.shared.runtime.store import Document
from telemachus.shared.runtime.views import read_many, read_one


class SessionsViews:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._db = db

    async def relationship(self, relationship_id: str) -> Relationship | None:
        return await read_one(self._db, RELATIONSHIPS, Relationship, relationship_id)

    async def relationships(self, program_id: str | None) -> list[Relationship]:
        query = {"program_id": program_id} if program_id else {}
        return await read_many(self._db, RELATIONSHIPS, Relationship, query)
