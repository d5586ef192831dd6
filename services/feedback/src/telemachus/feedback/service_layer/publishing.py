"""Domain events -> wire events. No answer, score or concern content ever leaves."""

from __future__ import annotations

from typing import Any

from telemachus.feedback.domain import events
from telemachus.feedback.domain.model import FeedbackWindow
from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.feedback import (
    ConcernEscalatedV1,
    ConcernReportedV1,
    FeedbackDueV1,
    FeedbackWindowClosedV1,
    FeedbackWindowKind,
    FeedbackWindowOpenedV1,
    FollowUpClosedV1,
    FollowUpDueV1,
    FollowUpOpenedV1,
    RelationshipPausedV1,
    RelationshipResumedV1,
)

PUBLISHED_EVENTS: list[type[IntegrationEvent]] = [
    FeedbackWindowOpenedV1,
    FeedbackDueV1,
    FeedbackWindowClosedV1,
    FollowUpOpenedV1,
    FollowUpDueV1,
    FollowUpClosedV1,
    ConcernReportedV1,
    ConcernEscalatedV1,
    RelationshipPausedV1,
    RelationshipResumedV1,
]


def _window(w: FeedbackWindow) -> dict[str, Any]:
    """What every window event says: which window, of which relationship, and its kind
    (a follow-up's months after the end, on events of its own)."""
    common: dict[str, Any] = {
        "window_id": w.id,
        "relationship_id": w.relationship_id,
        "program_id": w.program_id,
    }
    if w.months_after_end is not None:
        return {**common, "months_after_end": w.months_after_end}
    return {**common, "kind": FeedbackWindowKind(w.kind.value)}


def to_wire(event: object) -> IntegrationEvent | None:
    match event:
        case events.FeedbackWindowOpened(window=w):
            # Respondents stay inside: integrators learn that a window opened, not for whom.
            opened = FollowUpOpenedV1 if w.months_after_end else FeedbackWindowOpenedV1
            return opened(**_window(w), opens_at=w.opens_at, closes_at=w.closes_at)
        case events.FeedbackDue(window=w, respondent_ref=ref):
            due = FollowUpDueV1 if w.months_after_end else FeedbackDueV1
            return due(**_window(w), respondent_ref=ref, closes_at=w.closes_at)
        case events.FeedbackWindowClosed(window=w, at=at):
            closed = FollowUpClosedV1 if w.months_after_end else FeedbackWindowClosedV1
            return closed(**_window(w), closed_at=at)
        case events.ConcernReported(concern=c):
            return ConcernReportedV1(
                concern_id=c.id,
                program_id=c.program_id,
                reported_at=c.reported_at,
                institution=c.institution,
                respond_by=c.respond_by,
            )
        case events.ConcernEscalated(concern=c) if c.respond_by and c.escalated_at:
            return ConcernEscalatedV1(
                concern_id=c.id,
                program_id=c.program_id,
                institution=c.institution,
                respond_by=c.respond_by,
                escalated_at=c.escalated_at,
            )
        case events.RelationshipPaused(concern=c, at=at) if c.hold_id:
            return RelationshipPausedV1(
                relationship_id=c.relationship_id,
                program_id=c.program_id,
                hold_id=c.hold_id,
                paused_at=at,
            )
        case events.RelationshipResumed(concern=c, at=at) if c.hold_id:
            return RelationshipResumedV1(
                relationship_id=c.relationship_id,
                program_id=c.program_id,
                hold_id=c.hold_id,
                resumed_at=at,
            )
    return None
