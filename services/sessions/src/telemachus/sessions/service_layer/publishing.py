"""Domain events -> wire events."""

from __future__ import annotations

from telemachus.sessions.domain import events
from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.sessions import RelationshipStartedV1

PUBLISHED_EVENTS: list[type[IntegrationEvent]] = [RelationshipStartedV1]


def to_wire(event: object) -> IntegrationEvent | None:
    match event:
        case events.RelationshipStarted(relationship=r):
            return RelationshipStartedV1(
                relationship_id=r.id,
                pairing_id=r.pairing_id,
                program_id=r.program_id,
                mode=r.mode,
                mentor_ref=r.mentor_ref,
                mentee_ref=r.mentee_ref,
                topic=r.topic,
                starts_on=r.starts_on,
                planned_end=r.planned_end,
                planned_sessions=r.planned_sessions,
            )
    return None
