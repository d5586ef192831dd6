"""The sessions unit of work."""

from __future__ import annotations

from telemachus.sessions.domain.model import Relationship
from telemachus.shared.runtime.repository import MongoRepository
from telemachus.shared.runtime.unit_of_work import MongoUnitOfWork

RELATIONSHIPS = "relationships"


class SessionsUnitOfWork(MongoUnitOfWork):
    async def __aenter__(self) -> SessionsUnitOfWork:
        await super().__aenter__()
        self.relationships = MongoRepository(self, RELATIONSHIPS, Relationship)
        return self
