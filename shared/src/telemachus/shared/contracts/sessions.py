"""Events the sessions service publishes on `telemachus.<institution>.sessions`."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.vocabulary import PairingMode, ParticipantRef, ProgramId, TopicId


class RelationshipStartedV1(IntegrationEvent):
    """A mentoring relationship opened: who mentors whom, on what, for how long."""

    event_type = "org.telemachus.sessions.relationship-started.v1"
    key_field = "relationship_id"

    relationship_id: str
    pairing_id: str
    program_id: ProgramId
    mode: PairingMode
    mentor_ref: ParticipantRef
    mentee_ref: ParticipantRef
    topic: TopicId
    starts_on: date
    planned_end: date
    planned_sessions: int = Field(ge=1, le=100)
