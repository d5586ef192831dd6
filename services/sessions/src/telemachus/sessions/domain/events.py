"""What happened inside sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from telemachus.sessions.domain.model import MentoringSession, Relationship
    from telemachus.sessions.domain.preparation import PreparationRecord


@dataclass(frozen=True)
class RelationshipStarted:
    relationship: Relationship


@dataclass(frozen=True)
class AgreementConfirmed:
    relationship: Relationship
    at: datetime


@dataclass(frozen=True)
class SessionEvent:
    relationship: Relationship
    session: MentoringSession


class SessionScheduled(SessionEvent):
    pass


class SessionRescheduled(SessionEvent):
    pass


class SessionCancelled(SessionEvent):
    pass


class SessionHeld(SessionEvent):
    pass


class SessionMissed(SessionEvent):
    pass


@dataclass(frozen=True)
class RelationshipCompleted:
    relationship: Relationship
    on: date
    reason: str


@dataclass(frozen=True)
class RelationshipEnded:
    relationship: Relationship
    on: date
    withdrawn: bool


@dataclass(frozen=True)
class RelationshipStalled:
    relationship: Relationship
    on: date


@dataclass(frozen=True)
class RematchRequested:
    relationship: Relationship
    participant_ref: str
    at: datetime


@dataclass(frozen=True)
class PreparationCompleted:
    record: PreparationRecord
    module_id: str
    at: datetime
