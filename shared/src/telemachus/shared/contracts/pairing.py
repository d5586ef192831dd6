"""Events the pairing service publishes on `telemachus.<institution>.pairing`."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.vocabulary import PairingMode, ParticipantRef, ProgramId, TopicId


class PairingProposedV1(IntegrationEvent):
    """A round proposed that `mentor_ref` (less senior) mentors `mentee_ref` on `topic`."""

    event_type = "org.telemachus.pairing.pairing-proposed.v1"
    key_field = "pairing_id"

    pairing_id: str
    round_id: str
    program_id: ProgramId
    mode: PairingMode
    mentor_ref: ParticipantRef
    mentee_ref: ParticipantRef
    topic: TopicId
    score: float
    respond_by: datetime


class PairingConfirmedV1(IntegrationEvent):
    """Both sides accepted; the relationship's terms travel with it."""

    event_type = "org.telemachus.pairing.pairing-confirmed.v1"
    key_field = "pairing_id"

    pairing_id: str
    program_id: ProgramId
    mode: PairingMode
    mentor_ref: ParticipantRef
    mentee_ref: ParticipantRef
    topic: TopicId
    relationship_weeks: int = Field(ge=1, le=104)
    planned_sessions: int = Field(ge=1, le=100)
    confirmed_at: datetime
