"""Events feedback consumes: relationships of this institution's programs."""

from __future__ import annotations

from telemachus.feedback.domain.commands import OpenBaselineWindow
from telemachus.shared.contracts.sessions import RelationshipStartedV1
from telemachus.shared.contracts.topics import event_topic
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.consumer import Delivery
from telemachus.shared.runtime.service import ServiceRuntime


def subscribe(runtime: ServiceRuntime, bus: MessageBus) -> None:
    async def relationship_started(event: RelationshipStartedV1, delivery: Delivery) -> None:
        command = OpenBaselineWindow(
            relationship_id=event.relationship_id,
            program_id=event.program_id,
            respondents=[event.mentor_ref, event.mentee_ref],
        )
        await bus.handle(command, inbox_id=delivery.id)

    runtime.consumer.subscribe(
        "sessions-events",
        [event_topic(runtime.settings.institution, "sessions")],
        {RelationshipStartedV1: relationship_started},
        "Relationships of the programs this institution leads; each opens a baseline window.",
    )
