"""What arrives at feedback: facts from identity, pairing and sessions; requests from people."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from telemachus.feedback.domain.concerns import ConcernCategory, ConcernOutcome, ConcernStatus
from telemachus.feedback.domain.evaluation_plan import EvaluationPlan
from telemachus.feedback.domain.model import (
    FeedbackSettings,
    PairingOutcome,
    RelationshipStatus,
)
from telemachus.shared.contracts.vocabulary import PairingMode
from telemachus.shared.security.tokens import Principal


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


# -- facts from other services ----------------------------------------------------------


class RecordProgram(Command):
    program_id: str
    title: str
    partner_institutions: list[str]
    reporting_threshold: int


class RecordEnrolment(Command):
    program_id: str
    participant_ref: str
    institution: str
    profession: str | None
    # None: the person did not share their line managers (concerns then keep to their
    # institution's safeguarding contacts).
    reporting_line: list[str] | None = None


class ParticipantLeft(Command):
    program_id: str
    participant_ref: str


class RecordPairing(Command):
    pairing_id: str
    program_id: str
    mode: PairingMode
    mentor_ref: str
    mentee_ref: str
    outcome: PairingOutcome


class OpenRelationship(Command):
    relationship_id: str
    program_id: str
    mode: PairingMode
    mentor_ref: str
    mentee_ref: str
    topic: str
    starts_on: date


class RecordSessionHeld(Command):
    relationship_id: str
    session_id: str
    held_count: int


class FinishRelationship(Command):
    relationship_id: str
    status: RelationshipStatus
    on: date
    sessions_held: int


class ShieldEarlierConcerns(Command):
    """At start: concerns stored before exclusions existed get their parties."""


class Sweep(Command):
    """Open follow-ups whose day came, send due reminders, close windows whose time ran
    out, escalate concerns past their deadline."""


# -- requests ---------------------------------------------------------------------------


class ByPrincipal(Command):
    principal: Principal


class GiveFeedback(ByPrincipal):
    window_id: str
    instrument: str
    answers: dict[str, int]
    comment: str | None = None


class ReportConcern(ByPrincipal):
    relationship_id: str
    category: ConcernCategory
    text: str | None = None


class FollowUpConcern(ByPrincipal):
    concern_id: str
    status: ConcernStatus
    note: str | None = None
    outcome: ConcernOutcome | None = None
    pause: bool | None = None


class SetFeedbackSettings(ByPrincipal):
    program_id: str
    settings: FeedbackSettings


class SetEvaluationPlan(ByPrincipal):
    program_id: str
    plan: EvaluationPlan
