"""Events sessions consumes: confirmed pairings of this institution's programs."""

from __future__ import annotations

from telemachus.sessions.domain.commands import OpenRelationship
from telemachus.shared.contracts.pairing import PairingConfirmedV1
from telemachus.shared.contracts.topics import event_topic
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.consumer import Delivery
from telemachus.shared.runtime.service import ServiceRuntime


def subscribe(runtime: ServiceRuntime, bus: MessageBus) -> None:
    async def pairing_confirmed(event: PairingConfirmedV1, delivery: Delivery) -> None:
        command = OpenRelationship(
            pairing_id=event.pairing_id,
            program_id=event.program_id,
            mode=event.mode,
            mentor_ref=event.mentor_ref,
            mentee_ref=event.mentee_ref,
            topic=event.topic,
            starts_on=event.confirmed_at.date(),
            weeks=event.relationship_weeks,
            planned_sessions=event.planned_sessions,
        )
        await bus.handle(command, inbox_id=delivery.id)

    # A program's pairings and relationships are both owned by its lead institution.
    runtime.consumer.subscribe(
        "pairing-events",
        [event_topic(runtime.settings.institution, "pairing")],
        {PairingConfirmedV1: pairing_confirmed},
        "Confirmed pairings of the programs this institution leads; each opens a relationship.",
    )
