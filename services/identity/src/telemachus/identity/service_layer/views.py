"""Read side of identity."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from telemachus.identity.domain.cohorts import Cohort
from telemachus.identity.domain.invitations import Invitation
from telemachus.identity.domain.participants import ContactRelease, Participant, Tombstone
from telemachus.identity.domain.programs import Program
from telemachus.identity.domain.topics import Topic
from telemachus.identity.service_layer.handlers import local_id
from telemachus.identity.service_layer.unit_of_work import (
    COHORTS,
    INVITATIONS,
    PARTICIPANTS,
    PROGRAMS,
    RELEASES,
    TOMBSTONES,
    TOPICS,
)
from telemachus.shared.runtime.store import Document
from telemachus.shared.runtime.views import read_many, read_one


class IdentityViews:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._db = db

    async def program(self, program_id: str) -> Program | None:
        return await read_one(self._db, PROGRAMS, Program, program_id)

    async def programs(self) -> list[Program]:
        return await read_many(self._db, PROGRAMS, Program, {})

    async def participant(self, participant_id: str) -> Participant | None:
        return await read_one(self._db, PARTICIPANTS, Participant, participant_id)

    async def participant_signed_in_as(self, subject: str) -> Participant | None:
        found = await read_many(self._db, PARTICIPANTS, Participant, {"subject": subject})
        return found[0] if found else None

    async def participants(self, program_id: str | None) -> list[Participant]:
        query: dict[str, object] = {}
        if program_id:
            query["enrolments"] = {"$elemMatch": {"program_id": program_id, "withdrawn_at": None}}
        return await read_many(self._db, PARTICIPANTS, Participant, query)

    async def invitations(self, query: dict[str, object]) -> list[Invitation]:
        return await read_many(self._db, INVITATIONS, Invitation, query)

    async def cohort(self, cohort_id: str) -> Cohort | None:
        return await read_one(self._db, COHORTS, Cohort, cohort_id)

    async def cohorts(self) -> list[Cohort]:
        return await read_many(self._db, COHORTS, Cohort, {})

    async def participants_where(self, query: dict[str, object]) -> list[Participant]:
        return await read_many(self._db, PARTICIPANTS, Participant, query)

    async def tombstone(self, participant_id: str) -> Tombstone | None:
        return await read_one(self._db, TOMBSTONES, Tombstone, participant_id)

    async def released_by(self, ref: str) -> list[ContactRelease]:
        """Our person's confirmed pairings whose counterparts may read their card."""
        return await read_many(self._db, RELEASES, ContactRelease, {"participant_ref": ref})

    async def card_for(
        self, pairing_id: str, reader_ref: str
    ) -> tuple[ContactRelease, Participant] | None:
        """Our person's card in this pairing, if released to `reader_ref` and the person
        is still enrolled in the program: read live, so a withdrawal stops it at once."""
        releases = await read_many(
            self._db,
            RELEASES,
            ContactRelease,
            {"pairing_id": pairing_id, "counterpart_ref": reader_ref},
        )
        if not releases:
            return None
        person = await self.participant(local_id(releases[0].participant_ref))
        if person is None or person.active_enrolment(releases[0].program_id) is None:
            return None
        return releases[0], person

    async def topics(self) -> list[Topic]:
        documents = await self._db[TOPICS].find({}).sort("_id").to_list()
        return [Topic(id=d["_id"], title=d["title"]) for d in documents]
