"""The identity unit of work: programs and participants, saved with their events."""

from __future__ import annotations

from telemachus.identity.domain.model import Participant, Program
from telemachus.shared.runtime.repository import MongoRepository
from telemachus.shared.runtime.unit_of_work import MongoUnitOfWork

PROGRAMS = "programs"
PARTICIPANTS = "participants"


class IdentityUnitOfWork(MongoUnitOfWork):
    async def __aenter__(self) -> IdentityUnitOfWork:
        await super().__aenter__()
        self.programs = MongoRepository(self, PROGRAMS, Program)
        self.participants = MongoRepository(self, PARTICIPANTS, Participant)
        return self
