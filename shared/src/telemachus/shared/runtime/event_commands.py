"""The usual shape of a subscription: each event becomes one command of the service (or
none, when it is not the service's business), handled with the event's inbox entry.

Written as translations (event, delivery) -> command, a subscription is batched for free:
one MongoDB transaction per polled batch instead of one per event. On the local store a
transaction costs milliseconds whatever it holds, so a burst of enrolments (a cohort
answering an announcement) was handled at ~23/s one by one. A translation that refuses
(raises) fails only its batch's transaction: the consumer then handles that batch's events
one at a time, and the refused one is dead-lettered alone (consumer.subscribe_batch).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.consumer import Delivery, EventConsumer, Subscription

# The command an event means here, or None when it is not for this service.
Translate = Callable[[Any, Delivery], object | None]


def subscribe_commands(
    consumer: EventConsumer,
    name: str,
    topics: Sequence[str],
    translations: Mapping[type[IntegrationEvent], Translate],
    bus: MessageBus[Any],
    description: str,
) -> Subscription:
    async def one(event: IntegrationEvent, delivery: Delivery) -> None:
        command = translations[type(event)](event, delivery)
        if command is not None:
            await bus.handle(command, inbox=delivery.inbox)

    async def many(items: list[tuple[IntegrationEvent, Delivery]]) -> None:
        commands = [
            (command, delivery)
            for event, delivery in items
            if (command := translations[type(event)](event, delivery)) is not None
        ]
        if commands:
            await bus.handle_batch(
                [(command, delivery.inbox) for command, delivery in commands],
                [delivery.trace for _, delivery in commands],
            )

    return consumer.subscribe_batch(
        name, topics, dict.fromkeys(translations, one), many, description
    )
