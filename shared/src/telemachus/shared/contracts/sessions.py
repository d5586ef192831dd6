"""Events the sessions service publishes on `telemachus.<institution>.sessions`."""

from __future__ import annotations

from datetime import date, datetime

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


class RematchRequestedV1(IntegrationEvent):
    """After a no-fault exit, `participant_ref` asks for a new partner in the program.

    The reason for the exit stays in sessions; pairing only learns that the person is
    free again and must not be paired with the same partner."""

    event_type = "org.telemachus.sessions.rematch-requested.v1"
    key_field = "participant_ref"

    relationship_id: str
    pairing_id: str
    program_id: ProgramId
    participant_ref: ParticipantRef
    requested_at: datetime
