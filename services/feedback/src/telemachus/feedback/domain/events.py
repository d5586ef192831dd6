"""What happened inside feedback."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from telemachus.feedback.domain.concerns import Concern
    from telemachus.feedback.domain.model import FeedbackWindow


@dataclass(frozen=True)
class FeedbackWindowOpened:
    window: FeedbackWindow


@dataclass(frozen=True)
class FeedbackDue:
    window: FeedbackWindow
    respondent_ref: str


@dataclass(frozen=True)
class FeedbackWindowClosed:
    window: FeedbackWindow
    at: datetime


@dataclass(frozen=True)
class ConcernReported:
    concern: Concern


@dataclass(frozen=True)
class ConcernEscalated:
    concern: Concern


@dataclass(frozen=True)
class RelationshipPaused:
    concern: Concern
    at: datetime


@dataclass(frozen=True)
class RelationshipResumed:
    concern: Concern
    at: datetime
