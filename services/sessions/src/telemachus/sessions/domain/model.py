"""Mentoring relationships of programs this institution leads."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from telemachus.sessions.domain import events
from telemachus.shared.contracts.vocabulary import PairingMode
from telemachus.shared.domain import Aggregate


class RelationshipStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    ENDED = "ended"


class Relationship(Aggregate):
    """Who mentors whom, on what, for how long. Roles belong here, not to the person."""

    pairing_id: str
    program_id: str
    mode: PairingMode
    mentor_ref: str
    mentee_ref: str
    topic: str
    starts_on: date
    planned_end: date
    planned_sessions: int
    status: RelationshipStatus = RelationshipStatus.ACTIVE

    @staticmethod
    def id_for(pairing_id: str) -> str:
        """One pairing opens one relationship, whatever is redelivered."""
        return f"relationship_{pairing_id}"

    @classmethod
    def open(
        cls,
        *,
        pairing_id: str,
        program_id: str,
        mode: PairingMode,
        mentor_ref: str,
        mentee_ref: str,
        topic: str,
        starts_on: date,
        weeks: int,
        planned_sessions: int,
    ) -> Relationship:
        relationship = cls(
            id=cls.id_for(pairing_id),
            pairing_id=pairing_id,
            program_id=program_id,
            mode=mode,
            mentor_ref=mentor_ref,
            mentee_ref=mentee_ref,
            topic=topic,
            starts_on=starts_on,
            planned_end=starts_on + timedelta(weeks=weeks),
            planned_sessions=planned_sessions,
        )
        relationship.record(events.RelationshipStarted(relationship))
        return relationship
