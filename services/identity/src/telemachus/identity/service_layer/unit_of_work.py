"""The identity unit of work: programs, people and what remains of them, saved with events."""

from __future__ import annotations

from typing import Any

from telemachus.identity.domain.cohorts import Cohort
from telemachus.identity.domain.invitations import Invitation
from telemachus.identity.domain.participants import ContactRelease, Participant, Tombstone
from telemachus.identity.domain.programs import Program
from telemachus.identity.notifications.notices import (
    Notice,
    NoticePreferences,
    RelationshipSeen,
    Reminder,
)
from telemachus.shared.runtime.repository import MongoRepository
from telemachus.shared.runtime.unit_of_work import MongoUnitOfWork

PROGRAMS = "programs"
PARTICIPANTS = "participants"
TOMBSTONES = "tombstones"
RELEASES = "contact_releases"
TOPICS = "topics"
INVITATIONS = "invitations"
COHORTS = "cohorts"
NOTICES = "notices"
REMINDERS = "reminders"
RELATIONSHIPS_SEEN = "relationships_seen"
NOTICE_PREFERENCES = "notice_preferences"
MAIL_OUTBOX = "mail_outbox"


class IdentityUnitOfWork(MongoUnitOfWork):
    async def __aenter__(self) -> IdentityUnitOfWork:
        await super().__aenter__()
        self.programs = MongoRepository(self, PROGRAMS, Program)
        self.participants = MongoRepository(self, PARTICIPANTS, Participant)
        self.tombstones = MongoRepository(self, TOMBSTONES, Tombstone)
        self.releases = MongoRepository(self, RELEASES, ContactRelease)
        self.invitations = MongoRepository(self, INVITATIONS, Invitation)
        self.cohorts = MongoRepository(self, COHORTS, Cohort)
        self.notices = MongoRepository(self, NOTICES, Notice)
        self.reminders = MongoRepository(self, REMINDERS, Reminder)
        self.relationships_seen = MongoRepository(self, RELATIONSHIPS_SEEN, RelationshipSeen)
        self.notice_preferences = MongoRepository(self, NOTICE_PREFERENCES, NoticePreferences)
        return self

    async def queue_mail(self, rows: list[dict[str, Any]]) -> None:
        """E-mails to send, committed with the notices they tell (the mail outbox)."""
        if rows:
            await self.db[MAIL_OUTBOX].insert_many(rows, session=self.session)

    async def forget_notices(self, participant_id: str, ref: str) -> None:
        """Erasure: the person's notices, unsent e-mails, settings and reminders go."""
        session = self.session
        told = (
            await self.db[NOTICES]
            .find({"recipient": participant_id}, {"_id": 1}, session=session)
            .to_list()
        )
        ids = [d["_id"] for d in told]
        await self.db[MAIL_OUTBOX].delete_many({"_id": {"$in": ids}}, session=session)
        await self.db[NOTICES].delete_many({"_id": {"$in": ids}}, session=session)
        await self.db[NOTICE_PREFERENCES].delete_many({"_id": participant_id}, session=session)
        await self.db[REMINDERS].update_many({"to": ref}, {"$pull": {"to": ref}}, session=session)
        await self.db[REMINDERS].delete_many(
            {"to": {"$size": 0}, "kind": {"$ne": "proposal-ending"}}, session=session
        )

    async def existing(self, collection: str, ids: list[str]) -> set[str]:
        cursor = self.db[collection].find({"_id": {"$in": ids}}, {"_id": 1}, session=self.session)
        stored = {d["_id"] for d in await cursor.to_list()}
        # And those added earlier in this transaction (a batch of events).
        return stored | {i for i in ids if self.holds(collection, i) is not None}

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
