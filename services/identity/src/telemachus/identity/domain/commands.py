"""What coordinators, participants and partner institutions ask of identity (imperative).

Field limits live here, where input arrives; the model trusts what passed them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from telemachus.identity.domain.invitations import DEFAULT_DAYS
from telemachus.identity.domain.participants import (
    Availability,
    EmailAddress,
    ShareableField,
    TopicOffered,
    TopicSought,
)
from telemachus.identity.domain.topics import Topic
from telemachus.shared.contracts.vocabulary import (
    CareerStage,
    InstitutionId,
    LanguageTag,
    PairingMode,
    Profession,
    TopicId,
)

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320)]


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProgramTerms(Command):
    title: str = Field(min_length=3, max_length=200)
    partner_institutions: list[InstitutionId] = Field(default_factory=list, max_length=50)
    topics: list[TopicId] = Field(min_length=1, max_length=50)
    pairing_mode: PairingMode = PairingMode.ASSIGNED
    relationship_weeks: int = Field(default=12, ge=1, le=104)
    planned_sessions: int = Field(default=6, ge=1, le=100)
    reporting_threshold: int = Field(
        default=5, ge=2, le=100, description="smallest group a feedback report may show"
    )
    enrolment_opens: date
    enrolment_closes: date


class PublishProgram(ProgramTerms):
    pass


class ProgramChanges(Command):
    """Only the terms given change; the rest stay as they are."""

    title: str | None = Field(default=None, min_length=3, max_length=200)
    partner_institutions: list[InstitutionId] | None = Field(default=None, max_length=50)
    topics: list[TopicId] | None = Field(default=None, min_length=1, max_length=50)
    pairing_mode: PairingMode | None = None
    relationship_weeks: int | None = Field(default=None, ge=1, le=104)
    planned_sessions: int | None = Field(default=None, ge=1, le=100)
    reporting_threshold: int | None = Field(default=None, ge=2, le=100)
    enrolment_opens: date | None = None
    enrolment_closes: date | None = None


class UpdateProgram(Command):
    program_id: str
    changes: ProgramChanges


class RecordPartnerProgram(ProgramTerms):
    """A program another institution published or changed, as learnt from its event."""

    program_id: str
    lead_institution: InstitutionId
    announced_by: InstitutionId  # whose topic carried it


class AddTopic(Command):
    topic: Topic


class ProfileFields(Command):
    profession: Profession
    career_stage: CareerStage
    department: str | None = Field(default=None, max_length=200)
    line_manager_id: str | None = Field(
        default=None, max_length=64, description="participant id of the line manager, here"
    )
    topics_offered: list[TopicOffered] = Field(default_factory=list, max_length=50)
    topics_sought: list[TopicSought] = Field(default_factory=list, max_length=50)
    availability: Availability | None = None
    languages: list[LanguageTag] = Field(default_factory=list, max_length=20)
    max_relationships: int = Field(default=1, ge=1, le=12)


class RegisterParticipant(ProfileFields):
    display_name: Name
    work_email: EmailStr
    employee_number: str | None = Field(default=None, max_length=100)
    subject: Subject | None = Field(
        default=None,
        description="what this person signs in as (token `sub`); their work e-mail if omitted",
    )


class ProfileChanges(Command):
    """Only the fields given change."""

    display_name: Name | None = None
    work_email: EmailStr | None = None
    profession: Profession | None = None
    career_stage: CareerStage | None = None
    department: str | None = Field(default=None, max_length=200)
    line_manager_id: str | None = Field(default=None, max_length=64)
    topics_offered: list[TopicOffered] | None = Field(default=None, max_length=50)
    topics_sought: list[TopicSought] | None = Field(default=None, max_length=50)
    availability: Availability | None = None
    languages: list[LanguageTag] | None = Field(default=None, max_length=20)
    max_relationships: int | None = Field(default=None, ge=1, le=12)


class UpdateProfile(Command):
    participant_id: str
    changes: ProfileChanges


class RowProblem(Command):
    line: int
    field: str
    reason: str


class ImportParticipants(Command):
    rows: list[RegisterParticipant]
    # Row numbers of the CSV (for the report), in the order of `rows`.
    line_numbers: list[int]
    # Rows already refused for their form, reported with the rest.
    refused: list[RowProblem] = Field(default_factory=list)
    # Import the valid rows even if some are refused (otherwise nothing is imported).
    accept_valid: bool = False


class EnrolParticipant(Command):
    participant_id: str
    program_id: str
    consented_fields: list[ShareableField] = Field(min_length=1)


class RosterUpdate(Command):
    participant_id: str
    changes: dict[str, Any]


class ApplyRosterChunk(Command):
    """One transaction of a planned re-sync: people to register, changes to make."""

    creates: list[RegisterParticipant] = Field(default_factory=list)
    updates: list[RosterUpdate] = Field(default_factory=list)


class ProvisionedPerson(Command):
    """A person as HR provisions them (SCIM): who they are, not what they share."""

    subject: Subject
    display_name: Name
    work_email: EmailStr
    profession: Profession
    career_stage: CareerStage
    department: str | None = Field(default=None, max_length=200)
    employee_number: str | None = Field(default=None, max_length=100)
    external_id: str | None = Field(default=None, max_length=200)
    emails: list[EmailAddress] = Field(default_factory=list, max_length=20)
    active: bool | None = None


class ProvisionPerson(Command):
    person: ProvisionedPerson


class ReplacePerson(Command):
    """Everything HR holds about the person, as it is now; the same push twice is no change."""

    participant_id: str
    person: ProvisionedPerson


class SaveCohort(Command):
    """Create (no id) or replace a cohort with exactly these members."""

    cohort_id: str | None = None
    display_name: Name
    member_ids: list[str] = Field(default_factory=list, max_length=50_000)
    member_display: dict[str, str] = Field(default_factory=dict)
    external_id: str | None = Field(default=None, max_length=200)


class DeleteCohort(Command):
    cohort_id: str


class InviteToProgram(Command):
    """A coordinator invites people (by record id or work e-mail) to one program."""

    program_id: str
    participant_ids: list[str] = Field(default_factory=list, max_length=5000)
    work_emails: list[str] = Field(default_factory=list, max_length=5000)
    cohort_id: str | None = None
    invited_by: str
    expires_in_days: int = Field(default=DEFAULT_DAYS, ge=1, le=90)


class AcceptInvitation(Command):
    invitation_id: str
    participant_id: str
    consented_fields: list[ShareableField] = Field(min_length=1)


class DeclineInvitation(Command):
    invitation_id: str
    participant_id: str


class PurgeExpiredInvitations(Command):
    as_of: datetime | None = None  # default now


class WithdrawParticipant(Command):
    participant_id: str
    program_id: str


class ConsentToRecognition(Command):
    participant_id: str
    program_id: str
    consent: bool


class EraseParticipant(Command):
    participant_id: str
    requested_by: str  # a role


class ReleaseContacts(Command):
    """A pairing was confirmed: release our side's contact cards to the counterparts."""

    pairing_id: str
    program_id: str
    mentor_ref: str
    mentee_ref: str
    announced_by: InstitutionId


class ForgetWithdrawn(Command):
    """Another institution's participant withdrew: they may no longer read our people's
    contact cards of that program (of any program, if they were erased)."""

    participant_ref: str
    program_id: str
    erased: bool
    announced_by: InstitutionId
