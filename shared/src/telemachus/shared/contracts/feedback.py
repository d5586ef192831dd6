"""Events the feedback service publishes on `telemachus.<institution>.feedback`.

None of them carries an answer, a score or a concern's content: feedback is confidential,
and integrators learn only what they need to remind people and count windows.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.vocabulary import InstitutionId, ParticipantRef, ProgramId


class FeedbackWindowKind(StrEnum):
    BASELINE = "baseline"  # pre-measure of outcomes at the start of a relationship
    CHECK_IN = "check-in"  # short, after each session held
    FINAL = "final"  # ratings of the other party and the post-measure of outcomes


class FeedbackWindowOpenedV1(IntegrationEvent):
    """Both parties of a relationship may now give feedback until `closes_at`."""

    event_type = "org.telemachus.feedback.feedback-window-opened.v1"
    key_field = "relationship_id"
    sequence_of = ("window_id",)

    window_id: str
    relationship_id: str
    program_id: ProgramId
    kind: FeedbackWindowKind
    opens_at: datetime
    closes_at: datetime


class FeedbackDueV1(IntegrationEvent):
    """A reminder: `respondent_ref` has not yet answered a window that closes soon.

    Their home institution's systems turn it into a message; the reference is the only
    thing that names the person, and only their home can resolve it."""

    event_type = "org.telemachus.feedback.feedback-due.v1"
    key_field = "relationship_id"
    sequence_of = ("window_id",)

    window_id: str
    relationship_id: str
    program_id: ProgramId
    kind: FeedbackWindowKind
    respondent_ref: ParticipantRef
    closes_at: datetime


class FeedbackWindowClosedV1(IntegrationEvent):
    """A window's time ran out; answers are no longer taken for it."""

    event_type = "org.telemachus.feedback.feedback-window-closed.v1"
    key_field = "relationship_id"
    sequence_of = ("window_id",)

    window_id: str
    relationship_id: str
    program_id: ProgramId
    kind: FeedbackWindowKind
    closed_at: datetime


class FollowUpFactsV1(IntegrationEvent):
    """Months after a relationship ended, both people are asked what lasted: what they
    still do differently at work and what came of it (Kirkpatrick's behaviour and results),
    and their outcomes again. Events of their own, not a new `kind` of the window events,
    whose readers validate `kind` against the three values they know."""

    key_field = "relationship_id"
    sequence_of = ("window_id",)

    window_id: str
    relationship_id: str
    program_id: ProgramId
    months_after_end: int = Field(ge=1, le=24)


class FollowUpOpenedV1(FollowUpFactsV1):
    """A follow-up opened, `months_after_end` after the relationship ended: until
    `closes_at` both people may say what they still do differently at work, what came of
    it, and how their outcomes stand now."""

    event_type = "org.telemachus.feedback.follow-up-opened.v1"

    opens_at: datetime
    closes_at: datetime


class FollowUpDueV1(FollowUpFactsV1):
    """A reminder: `respondent_ref` has not yet answered a follow-up that closes soon."""

    event_type = "org.telemachus.feedback.follow-up-due.v1"

    respondent_ref: ParticipantRef
    closes_at: datetime


class FollowUpClosedV1(FollowUpFactsV1):
    """A follow-up's time ran out; answers are no longer taken for it."""

    event_type = "org.telemachus.feedback.follow-up-closed.v1"

    closed_at: datetime


class ConcernReportedV1(IntegrationEvent):
    """A participant reported a confidential concern.

    Deliberately bare (no relationship, reporter or category): enough for a safeguarding
    contact's inbox to say "a concern awaits you", nothing the other party could trace.
    `institution` is whose safeguarding contacts act on it (the reporter's home); absent in
    events published before routing existed, when the lead's contact was told."""

    event_type = "org.telemachus.feedback.concern-reported.v1"
    key_field = "concern_id"

    concern_id: str
    program_id: ProgramId
    reported_at: datetime
    institution: InstitutionId | None = None
    respond_by: datetime | None = Field(
        default=None, description="acknowledged by then, or it escalates"
    )


class ConcernEscalatedV1(IntegrationEvent):
    """Nobody acknowledged a concern by its deadline: `institution`'s escalation contacts
    are told (as bare as the report)."""

    event_type = "org.telemachus.feedback.concern-escalated.v1"
    key_field = "concern_id"

    concern_id: str
    program_id: ProgramId
    institution: InstitutionId
    respond_by: datetime
    escalated_at: datetime


class RelationshipPausedV1(IntegrationEvent):
    """Those acting on a concern paused a relationship of the lead's: no session, agreement
    or time is proposed or confirmed until it resumes, and what was planned is cancelled.
    Which concern, and whose, is not said."""

    event_type = "org.telemachus.feedback.relationship-paused.v1"
    key_field = "relationship_id"

    relationship_id: str
    program_id: ProgramId
    # Opaque: two concerns may each hold a pause; it lasts until every hold is released.
    hold_id: str
    paused_at: datetime


class RelationshipResumedV1(IntegrationEvent):
    """A hold on a paused relationship is released; with none left, it goes on."""

    event_type = "org.telemachus.feedback.relationship-resumed.v1"
    key_field = "relationship_id"

    relationship_id: str
    program_id: ProgramId
    hold_id: str = Field(description="the pause's hold this releases")
    resumed_at: datetime
