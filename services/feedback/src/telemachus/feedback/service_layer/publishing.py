"""Domain events -> wire events. No answer, score or concern content ever leaves."""

from __future__ import annotations

from telemachus.feedback.domain import events
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


def to_wire(event: object) -> IntegrationEvent | None:
    match event:
        case events.FeedbackWindowOpened(window=w) if w.months_after_end is not None:
            return FollowUpOpenedV1(
                window_id=w.id,
                relationship_id=w.relationship_id,
                program_id=w.program_id,
                months_after_end=w.months_after_end,
                opens_at=w.opens_at,
                closes_at=w.closes_at,
            )
        case events.FeedbackDue(window=w, respondent_ref=ref) if w.months_after_end is not None:
            return FollowUpDueV1(
                window_id=w.id,
                relationship_id=w.relationship_id,
                program_id=w.program_id,
                months_after_end=w.months_after_end,
                respondent_ref=ref,
                closes_at=w.closes_at,
            )
        case events.FeedbackWindowClosed(window=w, at=at) if w.months_after_end is not None:
            return FollowUpClosedV1(
                window_id=w.id,
                relationship_id=w.relationship_id,
                program_id=w.program_id,
                months_after_end=w.months_after_end,
                closed_at=at,
            )
        case events.FeedbackWindowOpened(window=w):
            # Respondents stay inside: integrators learn that a window opened, not for whom.
            return FeedbackWindowOpenedV1(
                window_id=w.id,
                relationship_id=w.relationship_id,
                program_id=w.program_id,
                kind=FeedbackWindowKind(w.kind.value),
                opens_at=w.opens_at,
                closes_at=w.closes_at,
            )
        case events.FeedbackDue(window=w, respondent_ref=ref):
            return FeedbackDueV1(
                window_id=w.id,
                relationship_id=w.relationship_id,
                program_id=w.program_id,
                kind=FeedbackWindowKind(w.kind.value),
                respondent_ref=ref,
                closes_at=w.closes_at,
            )
        case events.FeedbackWindowClosed(window=w, at=at):
            return FeedbackWindowClosedV1(
                window_id=w.id,
                relationship_id=w.relationship_id,
                program_id=w.program_id,
                kind=FeedbackWindowKind(w.kind.value),
                closed_at=at,
            )
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
