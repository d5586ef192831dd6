"""Consuming events: envelope and schema checks, retries, dead letters, offset commits.

A subscription maps wire event types to handlers. For each record, in order:
oversized or no valid CloudEvents envelope -> dead letter; not signed by the institution
whose topic carried it with a key valid now, or altered since -> dead letter (the reason
says which, see security/signing.py); a type this subscription does not handle ->
skipped (other consumers read the same topic); data that fails its schema -> dead
letter; the same source and id read before at another position -> dead letter
(replayed); the handler raises a DomainError -> dead letter (retrying cannot help); any
other error of the event's -> retried with backoff, then dead letter. Only then is the
offset marked for commit. Handlers dedupe through the inbox (see bus.py).

The infrastructure's failures (faults.py: the store or broker unavailable, a write
conflict) are never the event's: the record is tried again, with backoff, until it goes
through, however long that takes, and whatever raised where (the replay check, the
handler, the dead-letter publish). Meanwhile `stalled()` says which subscription waits on
what (the readiness check reports it) and the log says so once per interval. On shutdown
the wait ends without marking the record, so it comes again after the restart.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from opentelemetry import propagate
from opentelemetry.context import Context
from pydantic import ValidationError

from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.envelope import (
    CloudEventAttributes,
    EnvelopeError,
    decode_headers,
)
from telemachus.shared.contracts.topics import publisher_of
from telemachus.shared.errors import DomainError, problems
from telemachus.shared.runtime.dead_letter import DeadLetterPublisher
from telemachus.shared.runtime.faults import is_transient
from telemachus.shared.runtime.inbox import InboxEntry, inbox_id
from telemachus.shared.runtime.lost_records import REPUBLISHED_HEADER
from telemachus.shared.runtime.metrics import ServiceMetrics
from telemachus.shared.runtime.offsets import OffsetCommitter
from telemachus.shared.runtime.replays import FirstSeen, Position
from telemachus.shared.runtime.sequences import Sequenced, sequenced
from telemachus.shared.security.signing import MATERIAL_HEADER, EventVerifier, SignatureRefused

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """How an event reached us: its inbox id, and the institution whose topic carried it.

    `origin` is checked against the event's CloudEvents `source`; who may publish there is
    the broker's ACLs' and the signatures' business (docs/security.md).
    """

    id: str
    origin: str
    sequenced: Sequenced | None = None
    # The trace the event was published in: a batch handles each event in its own trace.
    trace: Context | None = field(default=None, compare=False)
    # The record as it was on the log, for a handler that passes it on as signed (webhooks).
    record: ConsumerRecord[Any, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def inbox(self) -> InboxEntry:
        return InboxEntry(self.id, self.sequenced)


EventHandler = Callable[[Any, Delivery], Awaitable[None]]
# Many (event, delivery) pairs in one transaction; the per-event handler is the fallback.
BatchHandler = Callable[[list[tuple[Any, Delivery]]], Awaitable[None]]
Admitted = tuple[EventHandler, Any, Delivery]


@dataclass(frozen=True)
class DeliveryPolicy:
    attempts: int = 3
    backoff_seconds: float = 0.2
    max_event_bytes: int = 256 * 1024
    commit_seconds: float = 0.2
    commit_every: int = 200
    fetch_max_wait_ms: int = 500
    session_timeout_ms: int = 10_000
    # Waiting out the infrastructure: the longest pause between tries, and how often the
    # log repeats that a subscription is still waiting.
    max_wait_seconds: float = 10.0
    report_every_seconds: float = 30.0


# Where a record that cannot be handled goes: the dead-letter topic, or (on a replay) back
# to the operator who asked.
Refuse = Callable[[ConsumerRecord[Any, Any], str, str], Awaitable[None]]


class ConsumerStalled(RuntimeError):
    """A subscription waits on the infrastructure: the service is not progressing."""


class ConsumerStopping(Exception):
    """The service is stopping while a record waits: leave it unmarked, it comes again."""


@dataclass
class Stall:
    since: float  # time.monotonic()
    tries: int
    error: str


@dataclass
class Subscription:
    name: str
    topics: Sequence[str]
    handlers: Mapping[type[IntegrationEvent], EventHandler]
    description: str
    committer: OffsetCommitter = field(init=False)
    stall: Stall | None = None
    # FastStream's subscriber, to make its Kafka consumer anew (see restart).
    subscriber: Any = None


def _utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _cleaned(record: ConsumerRecord[Any, Any]) -> ConsumerRecord[Any, Any]:
    if all(_utf8(value) for _, value in record.headers):
        return record
    return dataclasses.replace(record, headers=[(k, v) for k, v in record.headers if _utf8(v)])


async def tolerant_parser(record: Any, original: Any) -> Any:
    """FastStream's parser decodes every header as UTF-8 and would raise before our checks
    see the record: hand it copies without undecodable headers, keep the original records."""
    if isinstance(record, tuple):
        message = await original(tuple(_cleaned(r) for r in record))
    else:
        message = await original(_cleaned(record))
    message.raw_message = record
    return message


async def raw_body(message: Any, original: Any) -> Any:
    """No decoding by FastStream: a body that is not JSON must reach our dead-letter path."""
    return message.body


def summarize_validation_error(error: ValidationError) -> str:
    return "; ".join(f"{where}: {why}" for where, why in problems(error, whole="(body)")[:5])


class EventConsumer:
    def __init__(
        self,
        broker: KafkaBroker,
        group_prefix: str,
        dead_letters: DeadLetterPublisher,
        policy: DeliveryPolicy,
        *,
        verifier: EventVerifier | None = None,
        first_seen: FirstSeen | None = None,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self._broker = broker
        self._group_prefix = group_prefix
        self._dead_letters = dead_letters
        self._policy = policy
        # Without a trust registry nothing can be verified (tests of delivery alone).
        self._verifier = verifier
        self._first_seen = first_seen
        self._metrics = metrics
        self.subscriptions: list[Subscription] = []
        self._stopping = asyncio.Event()
        if metrics is not None:
            metrics.watch_stalls(self._stalled_seconds)

    def _stalled_seconds(self) -> dict[str, float]:
        now = time.monotonic()
        return {
            s.name: now - s.stall.since if s.stall is not None else 0.0 for s in self.subscriptions
        }

    def stalled(self) -> dict[str, str]:
        """Subscriptions waiting on the infrastructure: name -> for how long, and why."""
        now = time.monotonic()
        return {
            s.name: f"waiting {now - s.stall.since:.0f}s ({s.stall.tries} tries): {s.stall.error}"
            for s in self.subscriptions
            if s.stall is not None
        }

    async def _until_done(
        self, subscription: Subscription, work: Callable[[], Awaitable[None]]
    ) -> None:
        """Run `work` until it completes; nothing raised in it moves the consumer on."""
        delay = self._policy.backoff_seconds or 0.05
        reported = 0.0
        while True:
            try:
                await work()
                break
            except Exception as error:
                now = time.monotonic()
                stall = subscription.stall or Stall(now, 0, "")
                stall.tries += 1
                stall.error = f"{type(error).__name__}: {error}"[:300]
                subscription.stall = stall
                if now - reported >= self._policy.report_every_seconds:
                    reported = now
                    log.error(
                        "subscription %s cannot go on; retrying until it can",
                        subscription.name,
                        extra={"tries": stall.tries, "error": stall.error},
                        exc_info=not is_transient(error),
                    )
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)
                raise ConsumerStopping(subscription.name)
            except TimeoutError:
                delay = min(delay * 2, self._policy.max_wait_seconds)
        if subscription.stall is not None:
            log.info(
                "subscription %s goes on after %d tries",
                subscription.name,
                subscription.stall.tries,
            )
            subscription.stall = None

    def subscribe(
        self,
        name: str,
        topics: Sequence[str],
        handlers: Mapping[type[IntegrationEvent], EventHandler],
        description: str,
    ) -> Subscription:
        subscription = self._subscription(name, topics, handlers, description)
        if not subscription.topics:
            return subscription
        by_type = self._by_type(handlers)
        subscriber = self._broker.subscriber(
            *subscription.topics, **self._subscriber_options(subscription)
        )

        async def consume(message: KafkaMessage) -> None:
            record = message.raw_message
            assert not isinstance(record, tuple)

            async def one() -> None:
                admitted = await self._admit(record, by_type)
                if admitted is not None:
                    await self._run(record, *admitted)

            await self._until_done(subscription, one)
            subscription.committer.handled(message)

        subscriber(consume)
        subscription.subscriber = subscriber
        return subscription

    def subscribe_batch(
        self,
        name: str,
        topics: Sequence[str],
        handlers: Mapping[type[IntegrationEvent], EventHandler],
        batch_handler: BatchHandler,
        description: str,
        max_records: int = 500,
    ) -> Subscription:
        """For high-volume consumers: one MongoDB transaction per polled batch.

        Invalid records are dead-lettered one by one as usual; if the batch transaction
        fails, its events are handled one at a time, so one bad event cannot hold the rest.
        """
        subscription = self._subscription(name, topics, handlers, description)
        if not subscription.topics:
            return subscription
        by_type = self._by_type(handlers)
        subscriber = self._broker.subscriber(
            *subscription.topics,
            batch=True,
            max_records=max_records,
            batch_timeout_ms=50,
            **self._subscriber_options(subscription),
        )

        async def consume(message: KafkaMessage) -> None:
            records = message.raw_message
            assert isinstance(records, tuple)

            async def batch() -> None:
                admitted = [
                    (r, a) for r, a in await self._admit_all(records, by_type) if a is not None
                ]
                try:
                    if admitted:
                        started = time.perf_counter()
                        await batch_handler([(event, d) for _, (_, event, d) in admitted])
                        if self._metrics is not None:
                            each = (time.perf_counter() - started) / len(admitted)
                            for record, (_, event, _) in admitted:
                                kind = {"type": type(event).event_type, "topic": record.topic}
                                self._metrics.handler_duration.record(each, kind)
                                self._metrics.events_handled.add(1, {**kind, "outcome": "handled"})
                except Exception:
                    log.warning(
                        "batch of %d failed; handling its events one by one",
                        len(admitted),
                        exc_info=True,
                    )
                    for record, one in admitted:
                        await self._run(record, *one)

            await self._until_done(subscription, batch)
            subscription.committer.handled(message)

        subscriber(consume)
        subscription.subscriber = subscriber
        return subscription

    def _subscription(
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
        if self._metrics is not None:
            self._metrics.watch_lag(f"{self._group_prefix}.{name}", subscription.committer.lag)
        if subscription.topics:
            self.subscriptions.append(subscription)
        else:
            # e.g. partner topics of an institution that has no partners (yet)
            log.info("subscription %s has no topics to read; not consuming", name)
        return subscription

    @staticmethod
    def _by_type(
        handlers: Mapping[type[IntegrationEvent], EventHandler],
    ) -> dict[str, tuple[type[IntegrationEvent], EventHandler]]:
        return {event.event_type: (event, handler) for event, handler in handlers.items()}

    def _subscriber_options(self, subscription: Subscription) -> dict[str, Any]:
        return {
            "group_id": f"{self._group_prefix}.{subscription.name}",
            # Offsets are ours to commit, after MongoDB: see offsets.py.
            "ack_policy": AckPolicy.MANUAL,
            "auto_offset_reset": "earliest",
            "fetch_max_wait_ms": self._policy.fetch_max_wait_ms,
            "session_timeout_ms": self._policy.session_timeout_ms,
            # Three heartbeats a session, as Kafka advises.
            "heartbeat_interval_ms": self._policy.session_timeout_ms // 3,
            "listener": subscription.committer,
            "parser": tolerant_parser,
            "decoder": raw_body,
            "title": f"{self._group_prefix}.{subscription.name}",
            "description": subscription.description,
        }

    async def _admit(
        self,
        record: ConsumerRecord[Any, Any],
        by_type: Mapping[str, tuple[type[IntegrationEvent], EventHandler]],
        refuse: Refuse | None = None,
    ) -> Admitted | None:
        """The event and its handler, or None when dead-lettered or not for this consumer."""
        return (await self._admit_all([record], by_type, refuse))[0][1]

    async def _admit_all(
        self,
        records: Sequence[ConsumerRecord[Any, Any]],
        by_type: Mapping[str, tuple[type[IntegrationEvent], EventHandler]],
        refuse: Refuse | None = None,
    ) -> list[tuple[ConsumerRecord[Any, Any], Admitted | None]]:
        """Each record with its event and handler (None: dead-lettered, or not for this
        consumer); the replay check asks the store once for all of them."""
        refuse = refuse or self._dead_letters.send
        checked = [(record, await self._checked(record, by_type, refuse)) for record in records]
        if self._first_seen is None:
            return [(record, c[:3] if c else None) for record, c in checked]
        valid = [(record, c) for record, c in checked if c is not None]
        firsts = await self._first_seen.replayed_among(
            [(c[2].id, Position(r.topic, r.partition, r.offset)) for r, c in valid]
        )
        replayed: set[int] = set()
        for (record, (_, _, delivery, republished)), first in zip(valid, firsts, strict=True):
            # Published again after the broker lost its log: the inbox decides, as for
            # any redelivery (see lost_records).
            if first is not None and not republished:
                replayed.add(id(record))
                await refuse(
                    record,
                    "replayed",
                    f"{delivery.id} was first read at {first.topic}[{first.partition}]"
                    f"@{first.offset}",
                )
        return [
            (record, c[:3] if c is not None and id(record) not in replayed else None)
            for record, c in checked
        ]

    async def _checked(
        self,
        record: ConsumerRecord[Any, Any],
        by_type: Mapping[str, tuple[type[IntegrationEvent], EventHandler]],
        refuse: Refuse,
    ) -> tuple[EventHandler, Any, Delivery, bool] | None:
        """Everything but the replay check: size, envelope, signature, source, type and
        schema; with whether the relay flagged the record as published again."""
        value: bytes = record.value or b""
        if len(value) > self._policy.max_event_bytes:
            await refuse(
                record, "oversized", f"{len(value)} bytes > {self._policy.max_event_bytes}"
            )
            return None
        try:
            headers = decode_headers(record.headers)  # once: the envelope and the signature
            attributes = CloudEventAttributes.from_headers(headers)
        except EnvelopeError as error:
            await refuse(record, "invalid-envelope", str(error))
            return None
        origin, source = publisher_of(record.topic)
        if self._verifier is not None:
            # Before anything else reads the event: who signed it, and is it as signed?
            try:
                self._verifier.verify(attributes, headers.get(MATERIAL_HEADER), value, origin)
            except SignatureRefused as refused:
                await refuse(record, refused.reason, refused.detail)
                return None
        if attributes.source != source:
            await refuse(
                record,
                "source-mismatch",
                f"source {attributes.source} published on topic {record.topic}",
            )
            return None
        known = by_type.get(attributes.type)
        if known is None:
            return None
        event_class, handler = known
        try:
            event = event_class.model_validate_json(value)
        except ValidationError as error:
            await refuse(
                record, "invalid-data", f"{attributes.type}: {summarize_validation_error(error)}"
            )
            return None
        delivery = Delivery(
            inbox_id(attributes),
            origin,
            sequenced(attributes.source, event),
            propagate.extract(headers),
            record,
        )
        return handler, event, delivery, REPUBLISHED_HEADER in headers

    async def _run(
        self,
        record: ConsumerRecord[Any, Any],
        handler: EventHandler,
        event: Any,
        delivery: Delivery,
    ) -> None:
        """Run the handler with retries; a refusal or persistent failure is dead-lettered."""
        started = time.perf_counter()
        outcome = await self._attempts(record, handler, event, delivery)
        if self._metrics is not None:
            kind = {"type": type(event).event_type, "topic": record.topic}
            self._metrics.handler_duration.record(time.perf_counter() - started, kind)
            self._metrics.events_handled.add(1, {**kind, "outcome": outcome})

    async def _attempts(
        self,
        record: ConsumerRecord[Any, Any],
        handler: EventHandler,
        event: Any,
        delivery: Delivery,
        refuse: Refuse | None = None,
    ) -> str:
        refuse = refuse or self._dead_letters.send
        for attempt in range(1, self._policy.attempts + 1):
            try:
                await handler(event, delivery)
                return "handled"
            except DomainError as error:
                await refuse(record, "rejected", f"{type(error).__name__}: {error}")
                return "refused"
            except Exception as error:
                if is_transient(error):
                    raise  # the infrastructure's: waited out by _until_done, never dead letter
                if attempt == self._policy.attempts:
                    log.exception("handler failed %d times; dead-lettering", attempt)
                    await refuse(record, "handler-failed", f"{type(error).__name__}: {error}")
                    return "failed"
                await asyncio.sleep(self._policy.backoff_seconds * 2 ** (attempt - 1))
        raise AssertionError("unreachable: attempts >= 1")

    async def replay(self, record: ConsumerRecord[Any, Any]) -> str:
        """A dead letter's original, run again through the subscriptions that read its
        topic, with the same checks (after a fix). The outcome is returned: "handled", or
        why it was refused again (then no new dead letter is written). Handled already
        (by an earlier replay): the inbox skips it. The infrastructure's failures raise."""
        readers = [s for s in self.subscriptions if record.topic in s.topics]
        if not readers:
            return f"not-read: no subscription of this service reads {record.topic}"
        refusals: list[str] = []

        async def refuse(_: ConsumerRecord[Any, Any], reason: str, detail: str) -> None:
            refusals.append(f"{reason}: {detail}")

        taken = 0
        for subscription in readers:
            admitted = await self._admit(record, self._by_type(subscription.handlers), refuse)
            if admitted is not None:
                taken += 1
                await self._attempts(record, *admitted, refuse=refuse)
        if refusals:
            return refusals[0]
        return "handled" if taken else "not-taken: no handler of this service takes its type"

    async def restart(self) -> None:
        """Each subscription's Kafka consumer made anew (after the broker lost its log): it
        joins its group afresh and reads from the committed offsets, or from the start
        where there are none. Offsets handled on the lost log are dropped, not committed."""
        subscribers = []
        for subscription in self.subscriptions:
            subscription.committer.forget()
            if subscription.subscriber is not None:
                subscribers.append(subscription.subscriber)
        for subscriber in subscribers:
            await subscriber.stop()
        # Each join waits out the group's rebalance delay: wait once for all (join_groups).
        await asyncio.gather(*(subscriber.start() for subscriber in subscribers))

    def start(self) -> None:
        for subscription in self.subscriptions:
            subscription.committer.start()

    async def stop(self) -> None:
        self._stopping.set()  # a record waiting on the infrastructure gives up its wait
        for subscription in self.subscriptions:
            await subscription.committer.stop()
