"""Participants as their home institution knows them. Personal data lives here only."""

from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from telemachus.identity.domain import events
from telemachus.identity.domain.programs import Program
from telemachus.shared.contracts.vocabulary import (
    CareerStage,
    InstitutionId,
    LanguageTag,
    Level,
    Profession,
    TopicId,
    Weekday,
)
from telemachus.shared.domain import Aggregate
from telemachus.shared.errors import Conflict, Rejected


class TopicOffered(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    topic: TopicId
    proficiency: Level


class TopicSought(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    topic: TopicId
    priority: Level


class WeeklySlot(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    day: Weekday
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> WeeklySlot:
        if self.end <= self.start:
            raise ValueError("a slot must end after it starts (split slots across midnight)")
        return self


class Availability(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    time_zone: str = Field(max_length=64, examples=["Europe/London"])
    slots: list[WeeklySlot] = Field(default_factory=list, max_length=50)

    @field_validator("time_zone")
    @classmethod
    def _iana(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/London)") from None
        return value


class ShareableField(StrEnum):
    """Profile fields a participant may consent to share with a program's services."""

    PROFESSION = "profession"
    CAREER_STAGE = "career_stage"
    DEPARTMENT = "department"  # travels as an opaque code, never as its name
    LINE_MANAGER = "line_manager"  # travels as the managers' pseudonymous references
    TOPICS_OFFERED = "topics_offered"
    TOPICS_SOUGHT = "topics_sought"
    AVAILABILITY = "availability"
    LANGUAGES = "languages"
    MAX_RELATIONSHIPS = "max_relationships"


# The profile attribute behind each shareable field.
SHARED_ATTRIBUTE = {
    ShareableField.PROFESSION: "profession",
    ShareableField.CAREER_STAGE: "career_stage",
    ShareableField.DEPARTMENT: "department",
    ShareableField.LINE_MANAGER: "reporting_line",
    ShareableField.TOPICS_OFFERED: "topics_offered",
    ShareableField.TOPICS_SOUGHT: "topics_sought",
    ShareableField.AVAILABILITY: "availability",
    ShareableField.LANGUAGES: "languages",
    ShareableField.MAX_RELATIONSHIPS: "max_relationships",
}
# Without these a pairing service cannot tell who could mentor whom on what.
REQUIRED_FOR_PAIRING = frozenset(
    {ShareableField.CAREER_STAGE, ShareableField.TOPICS_OFFERED, ShareableField.TOPICS_SOUGHT}
)


class Enrolment(BaseModel):
    """A consent record: which fields the person agreed to share with which program, when."""

    model_config = ConfigDict(frozen=True)
    program_id: str
    lead_institution: str
    consented_fields: list[ShareableField]
    enrolled_at: datetime
    withdrawn_at: datetime | None = None
    # The person agreed that a certificate of their contribution be issued (recognition):
    # their home issues it to them only from then, until they take it back.
    recognition_consented_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


class Profile(BaseModel):
    """What a participant or coordinator may change about a person."""

    display_name: str
    work_email: str
    profession: Profession
    career_stage: CareerStage
    department: str | None = None
    line_manager_id: str | None = None
    topics_offered: list[TopicOffered] = Field(default_factory=list)
    topics_sought: list[TopicSought] = Field(default_factory=list)
    availability: Availability | None = None
    languages: list[LanguageTag] = Field(default_factory=list)
    max_relationships: int = 1


class EmailAddress(BaseModel):
    value: str
    type: str | None = None
    primary: bool | None = None


class Participant(Profile, Aggregate):
    home_institution: InstitutionId
    # Who this person signs in as at their institution's identity provider (token `sub`).
    subject: str
    registered_at: datetime
    # Pseudonymous references of the line managers above this person, nearest first.
    reporting_line: list[str] = Field(default_factory=list)
    enrolments: list[Enrolment] = Field(default_factory=list)
    # From HR provisioning (SCIM): the HR system's id, the employee number, the addresses
    # as HR lists them (the work e-mail is the primary one), and whether the person is
    # still with the institution (False: in no program, none to join; None: not said).
    external_id: str | None = None
    employee_number: str | None = None
    emails: list[EmailAddress] = Field(default_factory=list)
    active: bool | None = None

    @property
    def ref(self) -> str:
        """The pseudonymous reference other services know this person by."""
        return f"{self.home_institution}:{self.id}"

    def active_enrolment(self, program_id: str) -> Enrolment | None:
        return next((e for e in self.enrolments if e.program_id == program_id and e.active), None)

    def enrol(self, program: Program, consented: list[ShareableField], now: datetime) -> Enrolment:
        if self.active is False:
            raise Conflict("deactivated by the institution's HR system", field="participant_id")
        if self.active_enrolment(program.id):
            raise Conflict(f"already enrolled in {program.id}", field="program_id")
        program.check_open_to(self.home_institution, now.date())
        missing = sorted(REQUIRED_FOR_PAIRING - set(consented))
        if missing:
            raise Rejected(
                f"pairing needs {', '.join(missing)} to find a partner; consent to share them",
                field="consented_fields",
            )
        offered = {t.topic for t in self.topics_offered}
        sought = {t.topic for t in self.topics_sought}
        if not (offered | sought) & set(program.topics):
            raise Rejected("offers and seeks none of the program's topics", field="program_id")
        enrolment = Enrolment(
            program_id=program.id,
            lead_institution=program.lead_institution,
            consented_fields=sorted(set(consented)),
            enrolled_at=now,
        )
        self.enrolments = [*self.enrolments, enrolment]
        self.record(events.ParticipantEnrolled(self, enrolment))
        return enrolment

    def update_profile(self, changes: dict[str, Any]) -> list[str]:
        """Apply changes; each program whose consented fields changed hears of it."""
        before = self.model_dump(include=set(changes))
        for key, value in changes.items():
            setattr(self, key, value)  # validated: nested dicts become models
        after = self.model_dump(include=set(changes))
        changed = [k for k in changes if before[k] != after[k]]
        touched = {f for f, attr in SHARED_ATTRIBUTE.items() if attr in changed}
        for enrolment in self.enrolments:
            if enrolment.active and touched & set(enrolment.consented_fields):
                self.record(events.ProfileUpdated(self, enrolment))
        return changed

    def deactivate(self, now: datetime) -> list[str]:
        """Left the institution (HR says so): withdrawn from every program, as a withdrawal
        at their own request would, so each program's withdrawal policy applies."""
        self.active = False
        left = [e.program_id for e in self.enrolments if e.active]
        for program_id in left:
            self.withdraw(program_id, now)
        return left

    def consent_to_recognition(self, program_id: str, consent: bool, now: datetime) -> Enrolment:
        """Given or taken back by the person; kept after they leave the program, since a
        certificate of what they did stays theirs to ask for."""
        enrolment = next((e for e in reversed(self.enrolments) if e.program_id == program_id), None)
        if enrolment is None:
            raise Conflict(f"not enrolled in {program_id}", field="program_id")
        changed = enrolment.model_copy(
            update={"recognition_consented_at": now if consent else None}
        )
        self.enrolments = [changed if e is enrolment else e for e in self.enrolments]
        return changed

    def withdraw(self, program_id: str, now: datetime) -> Enrolment:
        enrolment = self.active_enrolment(program_id)
        if enrolment is None:
            raise Conflict(f"not enrolled in {program_id}", field="program_id")
        ended = enrolment.model_copy(update={"withdrawn_at": now})
        self.enrolments = [ended if e is enrolment else e for e in self.enrolments]
        self.record(events.ParticipantWithdrawn(self.ref, self.home_institution, ended, False, now))
        return ended


class Tombstone(Aggregate):
    """What remains of an erased participant: no name, e-mail or profile.

    Kept for audit: that this pseudonymous reference existed, which fields it consented to
    share with which program and when, and when it was erased, so the institution can show
    what it shared and that it stopped.
    """

    ref: str
    home_institution: str
    registered_at: datetime
    erased_at: datetime
    erased_by: str  # the role that asked (participant or coordinator), not a person
    enrolments: list[Enrolment]

    @classmethod
    def erase(cls, participant: Participant, now: datetime, by_role: str) -> Tombstone:
        enrolments = [
            e if not e.active else e.model_copy(update={"withdrawn_at": now})
            for e in participant.enrolments
        ]
        tombstone = cls(
            id=participant.id,
            ref=participant.ref,
            home_institution=participant.home_institution,
            registered_at=participant.registered_at,
            erased_at=now,
            erased_by=by_role,
            enrolments=enrolments,
        )
        for before, after in zip(participant.enrolments, enrolments, strict=True):
            if before.active:
                tombstone.record(
                    events.ParticipantWithdrawn(
                        participant.ref, participant.home_institution, after, True, now
                    )
                )
        return tombstone


class ContactRelease(Aggregate):
    """Our participant's contact card may be read by the counterpart of a confirmed
    pairing. Only this fact is kept: the card itself is read from the participant's
    record at the moment it is asked for, so withdrawal or erasure stops it at once and
    no copy exists anywhere else (no card travels on the event log)."""

    pairing_id: str
    program_id: str
    participant_ref: str  # ours: whose card
    counterpart_ref: str  # who may read it (ours or another institution's)
    released_at: datetime

    @staticmethod
    def key(pairing_id: str, participant_ref: str) -> str:
        return f"{pairing_id}|{participant_ref}"
