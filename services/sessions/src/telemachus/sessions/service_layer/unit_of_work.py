"""The sessions unit of work."""

from __future__ import annotations

from telemachus.sessions.domain.model import (
    Availability,
    CalendarFeed,
    ExitRecord,
    PrivateNote,
    ProgramSettings,
    Relationship,
)
from telemachus.sessions.domain.preparation import PreparationRecord
from telemachus.shared.runtime.repository import MongoRepository
from telemachus.shared.runtime.unit_of_work import MongoUnitOfWork

RELATIONSHIPS = "relationships"
NOTES = "private_notes"
EXITS = "exit_reasons"
PROGRAMS = "programs"
AVAILABILITY = "availability"
FEEDS = "calendar_feeds"
PREPARATION = "preparation"


class SessionsUnitOfWork(MongoUnitOfWork):
    async def __aenter__(self) -> SessionsUnitOfWork:
        await super().__aenter__()
        self.relationships = MongoRepository(self, RELATIONSHIPS, Relationship)
        self.notes = MongoRepository(self, NOTES, PrivateNote)
        self.exits = MongoRepository(self, EXITS, ExitRecord)
        self.programs = MongoRepository(self, PROGRAMS, ProgramSettings)
        self.availability = MongoRepository(self, AVAILABILITY, Availability)
        self.feeds = MongoRepository(self, FEEDS, CalendarFeed)
        self.preparation = MongoRepository(self, PREPARATION, PreparationRecord)
        return self
