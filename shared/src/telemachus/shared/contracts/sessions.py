"""Events the sessions service publishes on `telemachus.<institution>.sessions`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

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
    circle_id: str | None = Field(
        default=None,
        description="circle rounds: the circle this relationship is one member's seat of "
        "(its lead is the mentor)",
    )


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


class AgreementConfirmedV1(IntegrationEvent):
    """Both parties confirmed the learning agreement (this `revision` of it)."""

    event_type = "org.telemachus.sessions.agreement-confirmed.v1"
    key_field = "relationship_id"

    relationship_id: str
    program_id: ProgramId
    revision: int = Field(ge=1)
    cadence_weeks: int = Field(ge=1, le=12)
    confirmed_at: datetime
    ground_rules_version: int | None = Field(
        default=None, description="the program's ground rules both acknowledged with it"
    )


class SessionFactsV1(IntegrationEvent):
    """A mentoring session of a relationship; times are UTC instants."""

    key_field = "relationship_id"
    sequence_of = ("session_id",)

    relationship_id: str
    session_id: str
    program_id: ProgramId
    mentor_ref: ParticipantRef
    mentee_ref: ParticipantRef
    starts_at: datetime
    ends_at: datetime
    format: Literal["in-person", "virtual"]
    group_id: str | None = Field(
        default=None,
        description="a circle's meeting: the same id on each member's seat of it",
    )


class SessionScheduledV1(SessionFactsV1):
    """Both parties agreed a session's time (the place or link stays in the service)."""

    event_type = "org.telemachus.sessions.session-scheduled.v1"


class SessionRescheduledV1(SessionFactsV1):
    """A scheduled session moved; both parties agreed the new time."""

    event_type = "org.telemachus.sessions.session-rescheduled.v1"


class SessionCancelledV1(SessionFactsV1):
    """A scheduled session will not take place."""

    event_type = "org.telemachus.sessions.session-cancelled.v1"


class SessionHeldV1(SessionFactsV1):
    """Both parties recorded that the session took place (feedback opens a check-in)."""

    event_type = "org.telemachus.sessions.session-held.v1"
    held_count: int = Field(ge=1)


class SessionMissedV1(SessionFactsV1):
    """A party recorded that the session did not take place."""

    event_type = "org.telemachus.sessions.session-missed.v1"


class RelationshipOutcomeV1(IntegrationEvent):
    key_field = "relationship_id"

    relationship_id: str
    pairing_id: str
    program_id: ProgramId
    mode: PairingMode
    mentor_ref: ParticipantRef
    mentee_ref: ParticipantRef
    sessions_held: int = Field(ge=0)


class RelationshipCompletedV1(RelationshipOutcomeV1):
    """The planned sessions were held, or the planned end date passed."""

    event_type = "org.telemachus.sessions.relationship-completed.v1"
    completed_on: date
    reason: Literal["sessions-held", "end-date-passed"]


class RelationshipEndedV1(RelationshipOutcomeV1):
    """A party ended the relationship early (no-fault), or left the program. Why a party
    left stays confidential: the other party and integrators learn only that it ended."""

    event_type = "org.telemachus.sessions.relationship-ended.v1"
    ended_on: date
    withdrawn: bool = Field(description="one of them left the program")


class RelationshipStalledV1(IntegrationEvent):
    """No session held for the program's stall period (coordinators follow up)."""

    event_type = "org.telemachus.sessions.relationship-stalled.v1"
    key_field = "relationship_id"

    relationship_id: str
    program_id: ProgramId
    last_held_on: date | None
    stalled_since: date


class PreparationCompletedV1(IntegrationEvent):
    """A participant completed one of a program's preparation modules (its check passed)."""

    event_type = "org.telemachus.sessions.preparation-completed.v1"
    key_field = "participant_ref"

    program_id: ProgramId
    participant_ref: ParticipantRef
    module_id: str = Field(max_length=40)
    completed_at: datetime
