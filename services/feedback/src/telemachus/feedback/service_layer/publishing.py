"""Domain events -> wire events."""

from __future__ import annotations

from telemachus.feedback.domain import events
from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.feedback import FeedbackWindowOpenedV1

PUBLISHED_EVENTS: list[type[IntegrationEvent]] = [FeedbackWindowOpenedV1]


def to_wire(event: object) -> IntegrationEvent | None:
    match event:
        case events.FeedbackWindowOpened(window=w):
            # Respondents stay inside: integrators learn that a window opened, not for whom.
            return FeedbackWindowOpenedV1(
                window_id=w.id,
                relationship_id=w.relationship_id,
                program_id=w.program_id,
                kind=w.kind,
                opens_at=w.opens_at,
                closes_at=w.closes_at,
            )
    return None
