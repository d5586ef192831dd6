"""Domain events -> wire events."""

from __future__ import annotations

from telemachus.pairing.domain import events
from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.pairing import PairingConfirmedV1, PairingProposedV1

PUBLISHED_EVENTS: list[type[IntegrationEvent]] = [PairingProposedV1, PairingConfirmedV1]


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
            )
    # PairingDeclined gets its wire event with the round lifecycle (issue 4).
    return None
