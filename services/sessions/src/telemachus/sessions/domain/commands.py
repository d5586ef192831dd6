"""What arrives at sessions: facts from pairing and identity, requests from people."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from telemachus.sessions.domain.model import AgreementTerms, Attendance, ExitReason, Format
from telemachus.sessions.domain.preparation import Preparation
from telemachus.shared.contracts.vocabulary import PairingMode
from telemachus.shared.security.tokens import Principal


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class OpenRelationship(Command):
    pairing_id: str
    program_id: str
    mode: PairingMode
    mentor_ref: str
    mentee_ref: str
    topic: str
    starts_on: date
    weeks: int
    planned_sessions: int
    circle_id: str | None = None


class RecordProgram(Command):
    program_id: str
    partner_institutions: list[str]
    reporting_threshold: int


class RecordAvailability(Command):
    program_id: str
    participant_ref: str
    time_zone: str | None
    slots: list[dict[str, str]]


class ParticipantLeft(Command):
    program_id: str
    participant_ref: str


class PauseRelationship(Command):
    """From the lead's feedback: those acting on a concern hold the relationship paused."""

    relationship_id: str
    hold_id: str


class ResumeRelationship(Command):
    relationship_id: str
    hold_id: str


class ByParticipant(Command):
    principal: Principal
    relationship_id: str


class ProposeAgreement(ByParticipant):
    terms: AgreementTerms


class ByCircleLead(Command):
    """The lead of a circle acting for the whole circle (one relationship per member)."""

    principal: Principal
    circle_id: str


class ProposeCircleAgreement(ByCircleLead):
    terms: AgreementTerms


class NewSession(Command):
    """When, how long and where a proposed session is."""

    starts_at: datetime
    minutes: int = Field(default=60)
    format: Format
    place: str | None = Field(default=None, max_length=200)
    link: HttpUrl | None = None


class ProposeCircleSession(ByCircleLead, NewSession):
    pass


class ConfirmAgreement(ByParticipant):
    revision: int


class ProposeSession(ByParticipant, NewSession):
    pass


class ConfirmSession(ByParticipant):
    session_id: str


class RescheduleSession(ByParticipant):
    session_id: str
    starts_at: datetime
    minutes: int = Field(default=60)


class CancelSession(ByParticipant):
    session_id: str


class RecordAttendance(ByParticipant):
    session_id: str
    attended: Attendance
    note: str | None = Field(default=None, max_length=5000)


class ExitRelationship(ByParticipant):
    reason: ExitReason
    rematch: bool = True


class RequestRematch(ByParticipant):
    pass


class SetProgramSettings(Command):
    principal: Principal
    program_id: str
    stall_weeks: int = Field(ge=1, le=26)


class SetGroundRules(Command):
    principal: Principal
    program_id: str
    rules: list[str]


class SetPreparation(Command):
    principal: Principal
    program_id: str
    preparation: Preparation


class CompleteModule(Command):
    principal: Principal
    program_id: str
    module_id: str
    answer: int


class ReviewRelationships(Command):
    """The daily sweep: completion by end date, stalled relationships."""


class OpenCalendar(Command):
    principal: Principal
    time_zone: str | None = None


class CloseCalendar(Command):
    principal: Principal
