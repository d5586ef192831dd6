"""The SCIM 2.0 resources identity serves (RFC 7643), built on scim2-models.

Users are the roster: only the core attributes a roster holds (the `/Schemas` endpoint
says which), the enterprise extension's employee number and department, and an extension
of ours for what pairing needs and HR knows (profession, career stage). Groups are
cohorts a coordinator can invite to a program.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import EmailStr
from scim2_models import (
    URN,
    ComplexAttribute,
    Extension,
    Group,
    GroupMember,
    Mutability,
    Required,
    Resource,
    Returned,
    Uniqueness,
)

from telemachus.identity.domain.career_stages import STAGE_NAMES
from telemachus.shared.contracts.vocabulary import Profession

PARTICIPANT_SCHEMA = "urn:telemachus:params:scim:schemas:extension:participant:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

# Career stages by name (a job title known per profession is accepted too).
CareerStageName = StrEnum(  # type: ignore[misc]
    "CareerStageName", {name.replace("-", "_"): name for name in STAGE_NAMES}
)
ProfessionName = StrEnum(  # type: ignore[misc]
    "ProfessionName", {p.name: p.value for p in Profession}
)


class Email(ComplexAttribute):
    value: Annotated[EmailStr | None, Required.true] = None
    type: str | None = None
    primary: bool | None = None


class ParticipantProfile(Extension):
    """What pairing needs about a person that HR knows."""

    __schema__ = URN(PARTICIPANT_SCHEMA)

    profession: Annotated[ProfessionName | None, Required.true] = None
    career_stage: Annotated[CareerStageName | None, Required.true] = None


class Employment(Extension):
    """The enterprise extension's attributes a roster keeps (RFC 7643 section 4.3)."""

    __schema__ = URN(ENTERPRISE_SCHEMA)

    employee_number: str | None = None
    department: str | None = None


class RosterUser(Resource[ParticipantProfile | Employment]):
    """A person on the institution's roster, as HR systems and IdPs provision them."""

    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:User")

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = None
    """What the person signs in as at the institution's IdP (the token's subject)."""

    display_name: Annotated[str | None, Required.true] = None
    """How the person is named to coordinators and their counterpart."""

    emails: Annotated[list[Email] | None, Required.true] = None
    """The primary (or first) is the work e-mail, unique on the roster."""

    active: bool | None = None
    """False withdraws the person from every program they take part in."""

    Email: ClassVar[type[ComplexAttribute]] = Email


class Cohort(Group):
    """A group of people a coordinator can invite to a program at once."""


def public(model: type[Resource[Any]] | type[Extension]) -> dict[str, Any]:
    """The model's schema as `/Schemas` serves it."""
    return model.to_schema().model_dump(mode="json", by_alias=True, exclude_none=True)


__all__ = [
    "Cohort",
    "Email",
    "Employment",
    "GroupMember",
    "Mutability",
    "ParticipantProfile",
    "Returned",
    "RosterUser",
]
