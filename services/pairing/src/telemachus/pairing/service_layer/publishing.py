"""Domain events -> wire events."""

from __future__ import annotations

from telemachus.pairing.domain import events
from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.pairing import (
    PairingConfirmedV1,
    PairingDeclinedV1,
    PairingExpiredV1,
    PairingProposedV1,
    RoundPublishedV1,
)

PUBLISHED_EVENTS: list[type[IntegrationEvent]] = [
    PairingProposedV1,
    PairingConfirmedV1,
    PairingDeclinedV1,
    PairingExpiredV1,
    RoundPublishedV1,
]


def to_wire(event: object) -> IntegrationEvent | None:
    match event:
        case events.PairingProposed(pairing=p):
            return PairingProposedV1(
                pairing_id=p.id,
                round_id=p.round_id,
                program_id=p.program_id,
                mode=p.mode,
                mentor_ref=p.mentor_ref,
                mentee_ref=p.mentee_ref,
                topic=p.topic,
                score=p.score,
                respond_by=p.respond_by,
                explanation=p.explanation.lines(),
                circle_id=p.circle_id,
            )
        case events.PairingConfirmed(pairing=p, confirmed_at=confirmed_at):
            return PairingConfirmedV1(
                pairing_id=p.id,
                program_id=p.program_id,
                mode=p.mode,
                mentor_ref=p.mentor_ref,
                mentee_ref=p.mentee_ref,
                topic=p.topic,
                relationship_weeks=p.relationship_weeks,
                planned_sessions=p.planned_sessions,
                confirmed_at=confirmed_at,
                circle_id=p.circle_id,
            )
        case events.PairingDeclined(pairing=p, reason=reason, at=at):
            return PairingDeclinedV1(
                pairing_id=p.id,
                program_id=p.program_id,
                mode=p.mode,
                mentor_ref=p.mentor_ref,
                mentee_ref=p.mentee_ref,
                reason=reason,
                declined_at=at,
            )
        case events.PairingExpired(pairing=p, at=at):
            return PairingExpiredV1(
                pairing_id=p.id,
                program_id=p.program_id,
                mode=p.mode,
                mentor_ref=p.mentor_ref,
                mentee_ref=p.mentee_ref,
                respond_by=p.respond_by,
                expired_at=at,
            )
        case events.RoundPublished(round=r):
            return RoundPublishedV1(
                round_id=r.id,
                program_id=r.program_id,
                mode=r.mode,
                engine=r.engine or "",
                pool_size=r.pool_size,
                proposed=len(r.pairing_ids),
                unmatched=len(r.unmatched),
                published_at=r.published_at or r.computed_at or r.created_at,
            )
    return None
