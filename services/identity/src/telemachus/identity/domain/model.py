"""Programs and participants as the home institution knows them. Personal data lives here only."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from telemachus.identity.domain import events
from telemachus.shared.contracts.vocabulary import (
    CareerStage,
    InstitutionId,
    Level,
    PairingMode,
    Profession,
    TopicId,
)
from telemachus.shared.domain import Aggregate
from telemachus.shared.errors import Conflict, Rejected


def new_id() -> str:
    """Opaque, unguessable ids: nothing about the person can be read from them."""
    return secrets.token_urlsafe(12)


class Program(Aggregate):
    """A program led by one institution; partners' identity services keep a copy."""

    lead_institution: InstitutionId
    partner_institutions: list[InstitutionId]
    title: str
    topics: list[TopicId]
    pairing_mode: PairingMode
    relationship_weeks: int
    planned_sessions: int
    reporting_threshold: int
    enrolment_opens: date
    enrolment_closes: date

    @classmethod
    def publish(
        cls,
        *,
        lead_institution: str,
        partner_institutions: list[str],
        title: str,
        topics: list[str],
        pairing_mode: PairingMode,
        relationship_weeks: int,
        planned_sessions: int,
        reporting_threshold: int,
        enrolment_opens: date,
        enrolment_closes: date,
    ) -> Program:
        if lead_institution in partner_institutions:
            raise Rejected(
                "the lead institution cannot also be a partner", field="partner_institutions"
            )
        if len(set(partner_institutions)) != len(partner_institutions):
            raise Rejected("a partner is listed twice", field="partner_institutions")
        if len(set(topics)) != len(topics):
            raise Rejected("a topic is listed twice", field="topics")
        if enrolment_closes < enrolment_opens:
            raise Rejected("enrolment closes before it opens", field="enrolment_closes")
        program = cls(
            id=f"{lead_institution}:{new_id()}",
            lead_institution=lead_institution,
            partner_institutions=partner_institutions,
            title=title,
            topics=topics,
            pairing_mode=pairing_mode,
            relationship_weeks=relationship_weeks,
            planned_sessions=planned_sessions,
            reporting_threshold=reporting_threshold,
            enrolment_opens=enrolment_opens,
            enrolment_closes=enrolment_closes,
        )
        program.record(events.ProgramPublished(program))
        return program

    def check_open_to(self, institution: str, on: date) -> None:
        if institution != self.lead_institution and institution not in self.partner_institutions:
            raise Rejected(
                f"{institution} is not a partner of program {self.id}", field="program_id"
            )
        if not self.enrolment_opens <= on <= self.enrolment_closes:
            raise Rejected(
                f"enrolment is open from {self.enrolment_opens} to {self.enrolment_closes}",
                field="program_id",
            )


class TopicOffered(BaseModel):
    model_config = ConfigDict(frozen=True)
    topic: TopicId
    proficiency: Level


class TopicSought(BaseModel):
    model_config = ConfigDict(frozen=True)
    topic: TopicId
    priority: Level


class ShareableField(StrEnum):
    """Profile fields a participant may consent to share with a program's services."""

    PROFESSION = "profession"
    CAREER_STAGE = "career_stage"
    TOPICS_OFFERED = "topics_offered"
    TOPICS_SOUGHT = "topics_sought"
    LANGUAGES = "languages"
    MAX_RELATIONSHIPS = "max_relationships"


class Enrolment(BaseModel):
    model_config = ConfigDict(frozen=True)
    program_id: str
    consented_fields: list[ShareableField]
    enrolled_at: datetime


class Participant(Aggregate):
    home_institution: InstitutionId
    display_name: str
    work_email: str
    profession: Profession
    career_stage: CareerStage
    department: str | None = None
    topics_offered: list[TopicOffered] = Field(default_factory=list)
    topics_sought: list[TopicSought] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    max_relationships: int = 1
    enrolments: list[Enrolment] = Field(default_factory=list)

    @property
    def ref(self) -> str:
        """The pseudonymous reference other services know this person by."""
        return f"{self.home_institution}:{self.id}"

    def enrol(self, program: Program, consented: list[ShareableField], now: datetime) -> None:
        if any(e.program_id == program.id for e in self.enrolments):
            raise Conflict(f"already enrolled in {program.id}", field="program_id")
        program.check_open_to(self.home_institution, now.date())
        offered = {t.topic for t in self.topics_offered}
        sought = {t.topic for t in self.topics_sought}
        if not (offered | sought) & set(program.topics):
            raise Rejected("offers and seeks none of the program's topics", field="program_id")
        enrolment = Enrolment(
            program_id=program.id, consented_fields=sorted(set(consented)), enrolled_at=now
        )
        self.enrolments = [*self.enrolments, enrolment]
        self.record(events.ParticipantEnrolled(self, program, enrolment))
