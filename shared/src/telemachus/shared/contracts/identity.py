"""Events the identity service publishes on `telemachus.<institution>.identity`."""

from __future__ import annotations

from datetime import date, datetime, time

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.vocabulary import (
    CareerStage,
    InstitutionId,
    LanguageTag,
    Level,
    PairingMode,
    ParticipantRef,
    Profession,
    ProgramId,
    TopicId,
    Weekday,
)
from telemachus.shared.security.keys import InstitutionKeys
from telemachus.shared.security.sealing import SealedV1, open_sealed


class ProgramTermsV1(IntegrationEvent):
    """What a program offers and how it runs: the full state, so a consumer just upserts."""

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


class ProgramPublishedV1(ProgramTermsV1):
    """A lead institution opened a program; partners' services learn of it from this."""

    event_type = "org.telemachus.identity.program-published.v1"


class ProgramUpdatedV1(ProgramTermsV1):
    """The lead institution changed a program's terms; this carries all of them, as now."""

    event_type = "org.telemachus.identity.program-updated.v1"


class TopicOfferedV1(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    topic: TopicId
    proficiency: Level


class TopicSoughtV1(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    topic: TopicId
    priority: Level


class WeeklySlotV1(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    day: Weekday
    start: time
    end: time


class AvailabilityV1(BaseModel):
    """Recurring weekly free time, in the participant's own IANA time zone."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    time_zone: str = Field(max_length=64, examples=["Europe/London"])
    slots: list[WeeklySlotV1] = Field(default_factory=list, max_length=50)


class SharedProfileV1(BaseModel):
    """Only the fields the participant consented to share; a field not consented is absent.

    Nothing here names the person or is free text: the department travels as an opaque
    code (equal codes mean the same department of the same institution), line managers
    as their pseudonymous references.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")
    profession: Profession | None = None
    career_stage: CareerStage | None = None
    department_code: str | None = Field(default=None, pattern=r"^[a-f0-9]{16}$")
    # The chain of line managers, nearest first (conflicts of interest).
    reporting_line: list[ParticipantRef] = Field(default_factory=list, max_length=20)
    topics_offered: list[TopicOfferedV1] = Field(default_factory=list)
    topics_sought: list[TopicSoughtV1] = Field(default_factory=list)
    availability: AvailabilityV1 | None = None
    languages: list[LanguageTag] = Field(default_factory=list)
    max_relationships: int = Field(default=1, ge=1, le=12)

    # No return annotation on purpose: pydantic then keeps the field-level JSON Schema.
    @model_serializer(mode="wrap")
    def _only_shared(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        """On the wire a field not consented is absent, not null or a default."""
        return {k: v for k, v in handler(self).items() if k in self.model_fields_set}


class EnrolmentInClear(IntegrationEvent):
    """Who enrolled where, and the names of the fields they consented to share: what every
    version of the enrolment facts carries in clear."""

    key_field = "participant_ref"
    sequence_of = ("program_id", "participant_ref")

    participant_ref: ParticipantRef
    home_institution: InstitutionId
    program_id: ProgramId
    lead_institution: InstitutionId
    consented_fields: list[str]


class EnrolmentFactsV1(EnrolmentInClear):
    """A person's shared profile for one program: only what they consented to share."""

    profile: SharedProfileV1


class ParticipantEnrolledV1(EnrolmentFactsV1):
    """Retired, no longer published: the profile travelled in clear, so every member of
    the federation could read it; v2 seals it for the program's lead."""

    event_type = "org.telemachus.identity.participant-enrolled.v1"
    retired = True


class ProfileUpdatedV1(EnrolmentFactsV1):
    """Retired, no longer published: see ParticipantEnrolledV1 (v2 seals the profile)."""

    event_type = "org.telemachus.identity.profile-updated.v1"
    retired = True


def profile_context(program_id: str, participant_ref: str) -> str:
    """What a sealed profile is bound to: it opens only as this person's, in this program."""
    return f"telemachus profile v1|{program_id}|{participant_ref}"


class SealedEnrolmentFactsV2(EnrolmentInClear):
    """A person's shared profile for one program, sealed for the program's lead, the only
    institution whose services use it: other members see who enrolled where (a pseudonym)
    and which fields were shared, not their values."""

    profile: SealedV1 = Field(
        description="SharedProfileV1 as JSON, sealed (HPKE) for lead_institution, bound to "
        "the program and the participant"
    )

    def opened(self, keys: InstitutionKeys) -> EnrolmentFactsV1:
        """The same facts with the profile in the clear, as v1 carried them (SealError if
        these keys are not the lead's)."""
        plain = open_sealed(
            self.profile, keys, profile_context(self.program_id, self.participant_ref)
        )
        clear = (
            ParticipantEnrolledV1 if isinstance(self, ParticipantEnrolledV2) else ProfileUpdatedV1
        )
        return clear(
            **self.model_dump(exclude={"profile"}),
            profile=SharedProfileV1.model_validate_json(plain),
        )


class ParticipantEnrolledV2(SealedEnrolmentFactsV2):
    """A person enrolled in a program, with consent; names and e-mail never travel, and the
    shared profile opens only at the program's lead."""

    event_type = "org.telemachus.identity.participant-enrolled.v2"


class ProfileUpdatedV2(SealedEnrolmentFactsV2):
    """A shared field of an enrolled person changed; carries the whole shared profile,
    sealed for the program's lead."""

    event_type = "org.telemachus.identity.profile-updated.v2"


class ParticipantWithdrawnV1(IntegrationEvent):
    """A person left a program, or left entirely (`erased`: their home erased their data).

    Every service drops what it holds about them for this program, and no institution gives
    them its people's contact cards of this program any more.
    """

    event_type = "org.telemachus.identity.participant-withdrawn.v1"
    key_field = "participant_ref"
    sequence_of = ("program_id", "participant_ref")

    participant_ref: ParticipantRef
    home_institution: InstitutionId
    program_id: ProgramId
    lead_institution: InstitutionId
    erased: bool
    withdrawn_at: datetime


class ContactSharedV1(IntegrationEvent):
    """Retired, no longer published: a contact card sealed for the counterpart's
    institution. A card on a log that is kept forever outlived the person's erasure, so
    the counterpart now reads it from the person's home over HTTP (docs/security.md)."""

    retired = True

    event_type = "org.telemachus.identity.contact-shared.v1"
    key_field = "participant_ref"

    pairing_id: str = Field(max_length=200)
    program_id: ProgramId
    participant_ref: ParticipantRef
    counterpart_ref: ParticipantRef
    contact: SealedV1


class ContactCardV1(BaseModel):
    """The plaintext inside ContactSharedV1.contact (JSON)."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    display_name: str = Field(max_length=200)
    work_email: str = Field(max_length=320)


def contact_context(pairing_id: str, participant_ref: str, counterpart_ref: str) -> str:
    """What a sealed contact card is bound to: it opens only in this pairing, for this pair."""
    return f"telemachus contact v1|{pairing_id}|{participant_ref}|{counterpart_ref}"
