"""What happened inside identity; the service layer decides what goes on the wire."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from telemachus.identity.domain.participants import Enrolment, Participant
    from telemachus.identity.domain.programs import Program


@dataclass(frozen=True)
class ProgramPublished:
    program: Program


@dataclass(frozen=True)
class ProgramUpdated:
    program: Program
    changed: tuple[str, ...]


@dataclass(frozen=True)
class ParticipantEnrolled:
    participant: Participant
    enrolment: Enrolment


@dataclass(frozen=True)
class ProfileUpdated:
    """Shared fields changed for one program the person is enrolled in."""

    participant: Participant
    enrolment: Enrolment


@dataclass(frozen=True)
class ParticipantWithdrawn:
    participant_ref: str
    home_institution: str
    enrolment: Enrolment
    erased: bool
    at: datetime
