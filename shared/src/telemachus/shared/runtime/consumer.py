"""Consuming events: envelope and schema checks, retries, dead letters, offset commits.

A subscription maps wire event types to handlers. For each record, in order:
oversized or no valid CloudEvents envelope -> dead letter; a type this subscription does
not handle -> skipped (other consumers read the same topic); data that fails its schema
-> dead letter; the handler raises a DomainError -> dead letter (retrying cannot help);
any other error -> retried with backoff, then dead letter. Only then is the offset
marked for commit. Handlers dedupe through the inbox (see bus.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError

from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.envelope import CloudEventAttributes, EnvelopeError
from telemachus.shared.errors import DomainError
from telemachus.shared.runtime.dead_letter import DeadLetterPublisher
from telemachus.shared.runtime.inbox import inbox_id
from telemachus.shared.runtime.offsets import OffsetCommitter

log = logging.getLogger(__name__)

EventHandler = Callable[[Any, str], Awaitable[None]]  # (event, inbox id)


@dataclass(frozen=True)
class DeliveryPolicy:
    attempts: int = 3
    backoff_seconds: float = 0.2
    max_event_bytes: int = 256 * 1024
    commit_seconds: float = 0.2
    commit_every: int = 200


@dataclass
class Subscription:
    name: str
    topics: Sequence[str]
    handlers: Mapping[type[IntegrationEvent], EventHandler]
    description: str
    committer: OffsetCommitter = field(init=False)


def _utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


async def tolerant_parser(record: ConsumerRecord[Any, Any], original: Any) -> Any:
    """FastStream's parser decodes every header as UTF-8 and would raise before our checks
    see the record: hand it a copy without undecodable headers, keep the original record."""
    if all(_utf8(value) for _, value in record.headers):
        return await original(record)
    cleaned = dataclasses.replace(record, headers=[(k, v) for k, v in record.headers if _utf8(v)])
    message = await original(cleaned)
    message.raw_message = record
    return message


async def raw_body(message: Any, original: Any) -> bytes:
    """No decoding by FastStream: a body that is not JSON must reach our dead-letter path."""
    return bytes(message.body)


def summarize_validation_error(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(p) for p in item["loc"]) or "(body)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


class EventConsumer:
    def __init__(
        self,
        broker: KafkaBroker,
        group_prefix: str,
        dead_letters: DeadLetterPublisher,
        policy: DeliveryPolicy,
    ) -> None:
        self._broker = broker
        self._group_prefix = group_prefix
        self._dead_letters = dead_letters
        self._policy = policy
        self.subscriptions: list[Subscription] = []

    def subscribe(
        self,
        name: str,
        topics: Sequence[str],
        handlers: Mapping[type[IntegrationEvent], EventHandler],
        description: str,
    ) -> Subscription:
        subscription = Subscription(name, list(topics), handlers, description)
        subscription.committer = OffsetCommitter(
            interval=self._policy.commit_seconds, every=self._policy.commit_every
        )
        if not subscription.topics:
            # e.g. partner topics of an institution that has no partners (yet)
            log.info("subscription %s has no topics to read; not consuming", name)
            return subscription
        by_type = {event.event_type: (event, handler) for event, handler in handlers.items()}
        subscriber = self._broker.subscriber(
            *subscription.topics,
            group_id=f"{self._group_prefix}.{name}",
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",
            listener=subscription.committer,
            parser=tolerant_parser,
            decoder=raw_body,
            title=f"{self._group_prefix}.{name}",
            description=description,
        )

        async def consume(message: KafkaMessage) -> None:
            await self._deliver(message, by_type)
            subscription.committer.handled(message)

        subscriber(consume)
        self.subscriptions.append(subscription)
        return subscription

    async def _deliver(
        self,
        message: KafkaMessage,
        by_type: Mapping[str, tuple[type[IntegrationEvent], EventHandler]],
    ) -> None:
        record = message.raw_message
        assert not isinstance(record, tuple)
        value: bytes = record.value or b""
        if len(value) > self._policy.max_event_bytes:
            await self._dead_letters.send(
                record, "oversized", f"{len(value)} bytes > {self._policy.max_event_bytes}"
            )
            return
        try:
            attributes = CloudEventAttributes.from_headers(record.headers)
        except EnvelopeError as error:
            await self._dead_letters.send(record, "invalid-envelope", str(error))
            return
        known = by_type.get(attributes.type)
        if known is None:
            return
        event_class, handler = known
        try:
            event = event_class.model_validate_json(value)
        except ValidationError as error:
            await self._dead_letters.send(
                record, "invalid-data", f"{attributes.type}: {summarize_validation_error(error)}"
            )
            return
        event_id = inbox_id(attributes)
        for attempt in range(1, self._policy.attempts + 1):
            try:
                await handler(event, event_id)
                return
            except DomainError as error:
                await self._dead_letters.send(
                    record, "rejected", f"{type(error).__name__}: {error}"
                )
                return
            except Exception as error:
                if attempt == self._policy.attempts:
                    log.exception("handler failed %d times; dead-lettering", attempt)
                    await self._dead_letters.send(
                        record, "handler-failed", f"{type(error).__name__}: {error}"
                    )
                    return
                await asyncio.sleep(self._policy.backoff_seconds * 2 ** (attempt - 1))

    def start(self) -> None:
        for subscription in self.subscriptions:
            subscription.committer.start()

    async def stop(self) -> None:
        for subscription in self.subscriptions:
            await subscription.committer.stop()
