"""The identity unit of work: programs, people and what remains of them, saved with events."""

from __future__ import annotations

from telemachus.identity.domain.cohorts import Cohort
from telemachus.identity.domain.invitations import Invitation
from telemachus.identity.domain.participants import ContactRelease, Participant, Tombstone
from telemachus.identity.domain.programs import Program
from telemachus.shared.runtime.repository import MongoRepository
from telemachus.shared.runtime.unit_of_work import MongoUnitOfWork

PROGRAMS = "programs"
PARTICIPANTS = "participants"
TOMBSTONES = "tombstones"
RELEASES = "contact_releases"
TOPICS = "topics"
INVITATIONS = "invitations"
COHORTS = "cohorts"


class IdentityUnitOfWork(MongoUnitOfWork):
    async def __aenter__(self) -> IdentityUnitOfWork:
        await super().__aenter__()
        self.programs = MongoRepository(self, PROGRAMS, Program)
        self.participants = MongoRepository(self, PARTICIPANTS, Participant)
        self.tombstones = MongoRepository(self, TOMBSTONES, Tombstone)
        self.releases = MongoRepository(self, RELEASES, ContactRelease)
        self.invitations = MongoRepository(self, INVITATIONS, Invitation)
        self.cohorts = MongoRepository(self, COHORTS, Cohort)
        return self

    async def topic_ids(self) -> set[str]:
        documents = await self.db[TOPICS].find({}, {"_id": 1}, session=self.session).to_list()
        return {d["_id"] for d in documents}

    async def add_topic(self, topic_id: str, title: str) -> None:
        await self.db[TOPICS].insert_one({"_id": topic_id, "title": title}, session=self.session)

    async def taken(self, field: str, values: list[str]) -> set[str]:
        """Which of these values some participant already has in `field` (unique fields)."""
        cursor = self.db[PARTICIPANTS].find(
            {field: {"$in": values}}, {field: 1}, session=self.session
        )
        return {d[field] for d in await cursor.to_list()}
