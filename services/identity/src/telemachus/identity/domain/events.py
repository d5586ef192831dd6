"""What happened inside identity; the service layer decides what goes on the wire."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from telemachus.identity.domain.model import Enrolment, Participant, Program


@dataclass(frozen=True)
class ProgramPublished:
    program: Program


@dataclass(frozen=True)
class ParticipantEnrolled:
    participant: Participant
    program: Program
    enrolment: Enrolment
