"""Events the pairing service publishes on `telemachus.<institution>.pairing`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

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
    # The terms that made the score, e.g. "topic fit +20: apps: priority 5 x proficiency 4".
    explanation: list[str] = Field(default_factory=list, max_length=20)
    circle_id: str | None = Field(
        default=None,
        description="circle rounds: the circle (one lead, several seniors) this proposal "
        "is a seat of; the lead is the mentor",
    )


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
    circle_id: str | None = Field(
        default=None, description="circle rounds: the circle this relationship belongs to"
    )


class PairingDeclinedV1(IntegrationEvent):
    """A proposal ended without a relationship: one side declined, or one of them left the
    program before both accepted (`withdrawn`). Both return to the pool."""

    event_type = "org.telemachus.pairing.pairing-declined.v1"
    key_field = "pairing_id"

    pairing_id: str
    program_id: ProgramId
    mode: PairingMode
    mentor_ref: ParticipantRef
    mentee_ref: ParticipantRef
    reason: Literal["declined", "withdrawn"]
    declined_at: datetime


class PairingExpiredV1(IntegrationEvent):
    """The answer deadline passed before both sides accepted; both return to the pool."""

    event_type = "org.telemachus.pairing.pairing-expired.v1"
    key_field = "pairing_id"

    pairing_id: str
    program_id: ProgramId
    mode: PairingMode
    mentor_ref: ParticipantRef
    mentee_ref: ParticipantRef
    respond_by: datetime
    expired_at: datetime


class RoundPublishedV1(IntegrationEvent):
    """A coordinator published a round: how it was matched and how many it reached.

    Feedback compares assigned, ranked and mixed rounds with these counts."""

    event_type = "org.telemachus.pairing.round-published.v1"
    key_field = "round_id"

    round_id: str
    program_id: ProgramId
    mode: PairingMode
    engine: str
    pool_size: int = Field(ge=0)
    proposed: int = Field(ge=0)
    unmatched: int = Field(ge=0)
    published_at: datetime
