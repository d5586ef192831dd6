"""Terms every institution's services agree on (see DOMAIN.md)."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints


class Profession(StrEnum):
    MEDICINE = "medicine"
    NURSING = "nursing"
    PHYSIOTHERAPY = "physiotherapy"
    SPEECH_PATHOLOGY = "speech-pathology"
    PHARMACY = "pharmacy"
    DENTISTRY = "dentistry"
    EDUCATION = "education"
    RESEARCH = "research"
    OTHER = "other"


class CareerStage(IntEnum):
    """One ordinal scale across professions; reverse mentoring runs from lower to higher."""

    STUDENT = 1
    EARLY_CAREER = 2  # resident, junior therapist or pharmacist, early-career researcher
    MID_CAREER = 3  # registrar, senior therapist, lecturer
    SENIOR = 4  # consultant, senior lecturer, principal investigator
    LEADER = 5  # head of department, professor


class InstitutionKind(StrEnum):
    HOSPITAL = "hospital"
    UNIVERSITY = "university"
    RESEARCH_CENTRE = "research-centre"


class PairingMode(StrEnum):
    ASSIGNED = "assigned"  # coordinator-assigned optimal matching
    RANKED = "ranked"  # participant-ranked stable matching (self-identification)
    MIXED = "mixed"


# Topic ids are slugs from the program's catalogue, e.g. "e-medicine", "literature-searching".
TopicId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,60}$")]
# "<institution>:<opaque id>": the only way a person is named outside their home institution.
ParticipantRef = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,40}:[A-Za-z0-9_-]{6,64}$")
]
ProgramId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,40}:[A-Za-z0-9_-]{6,64}$")]
InstitutionId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,40}$")]
Level = Annotated[int, Field(ge=1, le=5)]
# BCP 47 language tags, e.g. "en", "fr", "pt-BR".
LanguageTag = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$")]


class Weekday(StrEnum):
    MONDAY = "mon"
    TUESDAY = "tue"
    WEDNESDAY = "wed"
    THURSDAY = "thu"
    FRIDAY = "fri"
    SATURDAY = "sat"
    SUNDAY = "sun"
