"""Events the feedback service publishes on `telemachus.<institution>.feedback`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.vocabulary import ProgramId


class FeedbackWindowKind(StrEnum):
    BASELINE = "baseline"  # pre-measure of outcomes at the start of a relationship
    CHECK_IN = "check-in"
    FINAL = "final"


class FeedbackWindowOpenedV1(IntegrationEvent):
    """Both parties of a relationship may now give feedback until `closes_at`."""

    event_type = "org.telemachus.feedback.feedback-window-opened.v1"
    key_field = "relationship_id"

    window_id: str
    relationship_id: str
    program_id: ProgramId
    kind: FeedbackWindowKind
    opens_at: datetime
    closes_at: datetime
