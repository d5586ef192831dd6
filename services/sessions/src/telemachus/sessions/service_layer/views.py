"""Read side of sessions. Private notes are read only by their author; exit reasons only
as counts."""

from __future__ import annotations

from collections import Counter

from pymongo.asynchronous.database import AsyncDatabase

from telemachus.sessions.domain.model import (
    Availability,
    CalendarFeed,
    ExitReason,
    ExitRecord,
    PrivateNote,
    ProgramSettings,
    Relationship,
)
from telemachus.sessions.domain.preparation import PreparationRecord
from telemachus.sessions.service_layer.unit_of_work import (
    AVAILABILITY,
    EXITS,
    FEEDS,
    NOTES,
    PREPARATION,
    PROGRAMS,
    RELATIONSHIPS,
)
from telemachus.shared.runtime.store import Document
from telemachus.shared.runtime.views import read_many, read_one


class SessionsViews:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._db = db

    async def program(self, program_id: str) -> ProgramSettings | None:
        return await read_one(self._db, PROGRAMS, ProgramSettings, program_id)

    async def relationship(self, relationship_id: str) -> Relationship | None:
        return await read_one(self._db, RELATIONSHIPS, Relationship, relationship_id)

    async def relationships(self, program_id: str) -> list[Relationship]:
        return await read_many(self._db, RELATIONSHIPS, Relationship, {"program_id": program_id})

    async def relationships_of(self, ref: str) -> list[Relationship]:
        return await read_many(
            self._db,
            RELATIONSHIPS,
            Relationship,
            {"$or": [{"mentor_ref": ref}, {"mentee_ref": ref}]},
        )

    async def notes_by(self, author_ref: str, relationship_id: str) -> list[PrivateNote]:
        return await read_many(
            self._db,
            NOTES,
            PrivateNote,
            {"author_ref": author_ref, "relationship_id": relationship_id},
        )

    async def exit_counts(self, program_id: str) -> dict[str, int]:
        """Every reason category with its count (0 where none)."""
        records = await read_many(self._db, EXITS, ExitRecord, {"program_id": program_id})
        counted = Counter(r.reason.value for r in records)
        return {reason.value: counted[reason.value] for reason in ExitReason}

    async def preparation_records(self, program_id: str) -> dict[str, PreparationRecord]:
        """What each person of the program completed, by their ref."""
        records = await read_many(
            self._db, PREPARATION, PreparationRecord, {"program_id": program_id}
        )
        return {r.participant_ref: r for r in records}

    async def feed(self, key: str) -> CalendarFeed | None:
        return await read_one(self._db, FEEDS, CalendarFeed, key)

    async def time_zone_of(self, ref: str) -> str | None:
        """The zone of the person's shared weekly availability, in any program."""
        shared = await read_many(self._db, AVAILABILITY, Availability, {"participant_ref": ref})
        return next((a.time_zone for a in shared if a.time_zone), None)
