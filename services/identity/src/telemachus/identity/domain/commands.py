"""What coordinators and participants ask of identity (imperative)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from telemachus.identity.domain.model import ShareableField, TopicOffered, TopicSought
from telemachus.shared.contracts.vocabulary import (
    CareerStage,
    InstitutionId,
    PairingMode,
    Profession,
    TopicId,
)


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PublishProgram(Command):
    title: str = Field(min_length=3, max_length=200)
    partner_institutions: list[InstitutionId] = Field(default_factory=list, max_length=50)
    topics: list[TopicId] = Field(min_length=1, max_length=50)
    pairing_mode: PairingMode = PairingMode.ASSIGNED
    relationship_weeks: int = Field(default=12, ge=1, le=104)
    planned_sessions: int = Field(default=6, ge=1, le=100)
    reporting_threshold: int = Field(default=5, ge=2, le=100)
    enrolment_opens: date
    enrolment_closes: date


class RegisterParticipant(Command):
    display_name: str = Field(min_length=1, max_length=200)
    work_email: EmailStr
    profession: Profession
    career_stage: CareerStage
    department: str | None = Field(default=None, max_length=200)
    topics_offered: list[TopicOffered] = Field(default_factory=list, max_length=50)
    topics_sought: list[TopicSought] = Field(default_factory=list, max_length=50)
    languages: list[str] = Field(default_factory=list, max_length=20)
    max_relationships: int = Field(default=1, ge=1, le=12)


class EnrolParticipant(Command):
    participant_id: str
    program_id: str
    consented_fields: list[ShareableField] = Field(min_length=1)


class RecordPartnerProgram(PublishProgram):
    """A program another institution published, as learnt from its event."""

    program_id: str
    lead_institution: InstitutionId
