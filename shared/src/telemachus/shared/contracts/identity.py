"""Events the identity service publishes on `telemachus.<institution>.identity`."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.vocabulary import (
    CareerStage,
    InstitutionId,
    Level,
    PairingMode,
    ParticipantRef,
    Profession,
    ProgramId,
    TopicId,
)


class ProgramPublishedV1(IntegrationEvent):
    """A lead institution opened a program; partners' services learn of it from this."""

    event_type = "org.telemachus.identity.program-published.v1"
    key_field = "program_id"

    program_id: ProgramId
    lead_institution: InstitutionId
    partner_institutions: list[InstitutionId]
    title: str = Field(max_length=200)
    topics: list[TopicId] = Field(min_length=1)
    pairing_mode: PairingMode
    relationship_weeks: int = Field(ge=1, le=104)
    planned_sessions: int = Field(ge=1, le=100)
    reporting_threshold: int = Field(ge=2, le=100)
    enrolment_opens: date
    enrolment_closes: date


class TopicOfferedV1(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    topic: TopicId
    proficiency: Level


class TopicSoughtV1(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    topic: TopicId
    priority: Level


class SharedProfileV1(BaseModel):
    """Only the fields the participant consented to share; a field not consented is absent."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    profession: Profession | None = None
    career_stage: CareerStage | None = None
    topics_offered: list[TopicOfferedV1] = Field(default_factory=list)
    topics_sought: list[TopicSoughtV1] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    max_relationships: int = Field(default=1, ge=1, le=12)


class ParticipantEnrolledV1(IntegrationEvent):
    """A person enrolled in a program, with consent; names and e-mail never travel."""

    event_type = "org.telemachus.identity.participant-enrolled.v1"
    key_field = "participant_ref"

    participant_ref: ParticipantRef
    home_institution: InstitutionId
    program_id: ProgramId
    lead_institution: InstitutionId
    consented_fields: list[str]
    profile: SharedProfileV1
