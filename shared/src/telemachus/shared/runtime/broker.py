"""The Kafka side: a FastStream broker with tracing, and the topics a service owns."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import OffsetOutOfRangeError, TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware

from telemachus.shared.runtime.kafka_security import broker_security
from telemachus.shared.runtime.lost_records import EVENT_ID_HEADER
from telemachus.shared.runtime.settings import ServiceSettings
from telemachus.shared.runtime.telemetry import ServiceTelemetry

log = logging.getLogger(__name__)


class _OwnTopicsOnly(logging.Filter):
    """FastStream warns at every start that auto-creation is off; that is by design here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Auto create topics is disabled" not in record.getMessage()


def create_broker(settings: ServiceSettings, telemetry: ServiceTelemetry) -> KafkaBroker:
    logger = logging.getLogger(f"telemachus.{settings.service}.broker")
    logger.addFilter(_OwnTopicsOnly())
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        security=broker_security(settings),
        client_id=f"telemachus-{settings.institution}-{settings.service}",
        middlewares=[KafkaTelemetryMiddleware(tracer_provider=telemetry.provider)],
        # A service creates only its own topics (ensure_topics); never someone else's.
        allow_auto_create_topics=False,
        # The local broker cannot hand out producer ids; delivery relies on outbox + inbox.
        enable_idempotence=False,
        acks="all",
        # Pick up partitions of topics created after start within seconds, not minutes.
        metadata_max_age_ms=10_000,
        description=f"Telemachus {settings.service} service of {settings.institution}",
        logger=logger,
        # FastStream logs every message received and processed; keep that for debugging.
        log_level=logging.DEBUG,
    )


async def connect_broker(broker: KafkaBroker) -> None:
    """What `broker.start()` does before and after its consumers start: the connection and
    the publishers. The consumers join their groups in `join_groups`."""
    await broker.connect()
    for publisher in broker.publishers:
        await publisher.start()
    broker.running = True


async def join_groups(broker: KafkaBroker) -> None:
    """Every consumer joins its group at once.

    FastStream starts subscribers one after another, and a consumer's first join waits out
    the group's initial rebalance delay (on the local broker half the session timeout, 5 s;
    on Kafka `group.initial.rebalance.delay.ms`, 3 s): a service with four consumer groups
    waited four times that. Joined together, it waits once.
    """
    await asyncio.gather(*(subscriber.start() for subscriber in broker.subscribers))


async def ensure_topics(
    bootstrap_servers: str,
    topics: Sequence[str],
    partitions: int,
    client_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """Creates those of `topics` the broker does not have; returns which they were."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **(client_options or {}))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            # Another replica of the service may have created it first.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in missing]
                )
        return missing
    finally:
        await admin.close()


async def wait_for_topics(
    bootstrap_servers: str,
    topics: Sequence[str],
    within: float,
    client_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """Wait until the topics exist; returns those still missing when time runs out.

    A consumer subscribed to a topic that does not exist yet only notices it at the next
    metadata refresh; waiting a little at start-up avoids that gap.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **(client_options or {}))
    await admin.start()
    try:
        deadline = asyncio.get_running_loop().time() + within
        while True:
            missing = [t for t in topics if t not in set(await admin.list_topics())]
            if not missing or asyncio.get_running_loop().time() >= deadline:
                if missing:
                    log.warning("topics not there yet, consuming anyway: %s", ", ".join(missing))
                return missing
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


def kafka_sender(broker: KafkaBroker) -> Any:
    """Send without waiting for the broker; the returned future resolves on its ack."""

    async def send(topic: str, key: str, payload: bytes, headers: dict[str, str]) -> Any:
        return await broker.publish(
            payload, topic, key=key.encode(), headers=headers, no_confirm=True
        )

    return send


READ_PATIENCE = 15  # empty one-second fetches before giving up on records the broker holds


class PartitionReader:
    """Reads a topic's partitions by position, with no consumer group: for the relay's
    check of what the broker holds, and for reading dead letters back."""

    def __init__(self, bootstrap_servers: str, client_options: Mapping[str, Any] | None = None):
        self._bootstrap_servers = bootstrap_servers
        self._options = dict(client_options or {})
        self._consumer: AIOKafkaConsumer | None = None
        # One consumer, assigned and moved per read: the relay's check and an operator's
        # listing must not move it under each other.
        self._lock = asyncio.Lock()
        self._starting = asyncio.Lock()  # two first callers must not start two consumers

    async def _reader(self) -> AIOKafkaConsumer:
        async with self._starting:
            return await self._started()

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            # A short timeout: a broker that does not answer fails the call, not waits 40 s.
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap_servers,
                request_timeout_ms=5_000,
                enable_auto_commit=False,
                auto_offset_reset="none",
                **self._options,
            )
            try:
                await consumer.start()
            except BaseException:
                await consumer.stop()  # a broker away: no half-started client left behind
                raise
            self._consumer = consumer
        return self._consumer

    async def partitions(self, topic: str) -> list[int]:
        reader = await self._reader()
        # Read the partitions from this fresh look at the whole cluster: the client's own
        # view tracks only the topics assigned now, so during another read (the relay's
        # check) it does not hold this topic and an operator's listing came back empty.
        cluster = await reader._client.fetch_all_metadata()
        return sorted(cluster.partitions_for_topic(topic) or ())

    async def topic_names(self) -> set[str]:
        """Every topic the broker has now (asking names none, so it creates none)."""
        return set(await (await self._reader()).topics())

    async def record_at(
        self, topic: str, partition: int, offset: int
    ) -> ConsumerRecord[Any, Any] | None:
        async with self._lock:
            try:
                return await self._record_at(TopicPartition(topic, partition), offset)
            finally:
                self._let_go()

    def _let_go(self) -> None:
        # An assigned partition is fetched in the background: between reads that is a fetch
        # loop on an idle partition, for nothing. Paused, not unassigned: after an
        # unassignment the fetcher cancels its fetch in flight, and a close in that moment
        # had the fetcher swallow its own cancellation and wait for an assignment forever
        # (aio-libs/aiokafka#983; a service stopping right after a listing hung).
        if self._consumer is not None:
            self._consumer.pause(*self._consumer.assignment())

    async def _record_at(self, tp: TopicPartition, offset: int) -> ConsumerRecord[Any, Any] | None:
        reader = await self._reader()
        reader.assign([tp])
        reader.seek(tp, offset)
        try:
            found = await reader.getmany(tp, timeout_ms=2_000, max_records=1)
        except OffsetOutOfRangeError:
            return None
        records = found.get(tp, [])
        return records[0] if records and records[0].offset == offset else None

    async def records(
        self, topic: str, partition: int, through: int | None = None
    ) -> list[ConsumerRecord[Any, Any]]:
        """Every record of the partition: read to its end (and past `through`, the last
        offset the caller knows of). The local broker may name an end short of the last
        record, and a fetch may come back empty early: reading goes on until a fetch past
        the end is empty. Short of the end the broker named, records it holds are waited
        for up to READ_PATIENCE empty fetches (a loaded machine answered empty three times
        in a row, and an operator's listing came back empty); past that end, only for
        `through`, three."""
        async with self._lock:
            try:
                return await self._records(TopicPartition(topic, partition), through)
            finally:
                self._let_go()

    async def _records(
        self, tp: TopicPartition, through: int | None
    ) -> list[ConsumerRecord[Any, Any]]:
        reader = await self._reader()
        reader.assign([tp])
        await reader.seek_to_beginning(tp)
        end = (await reader.end_offsets([tp])).get(tp, 0)
        target = max(end, through + 1 if through is not None else 0)
        found: list[ConsumerRecord[Any, Any]] = []
        empty = 0
        while True:
            position = await reader.position(tp)
            past = position >= target
            try:
                batch = await reader.getmany(tp, timeout_ms=200 if past else 1_000, max_records=500)
            except OffsetOutOfRangeError:
                return found
            if batch.get(tp):
                found.extend(batch[tp])
                empty = 0
                continue
            if past:
                return found
            empty += 1
            if empty >= (3 if position >= end else READ_PATIENCE):
                return found

    async def close(self) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await consumer.stop()


class KafkaBrokerLog:
    """What the relay asks the broker to find lost records (see lost_records).

    It reads records rather than asking for end offsets: the local broker answers a
    ListOffsets with the last batch's base offset plus one, not the log's end.
    """

    def __init__(
        self,
        reader: PartitionReader,
        bootstrap_servers: str,
        topics: Sequence[str],
        partitions: int,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        self._reader = reader
        self._bootstrap_servers = bootstrap_servers
        self._topics = list(topics)
        self._partitions = partitions
        self._options = dict(client_options or {})

    async def event_at(self, topic: str, partition: int, offset: int) -> str | None:
        record = await self._reader.record_at(topic, partition, offset)
        return _event_id(record) if record is not None else None

    async def event_ids(self, topic: str, partition: int, through: int) -> set[str]:
        records = await self._reader.records(topic, partition, through)
        return {i for i in map(_event_id, records) if i is not None}

    async def recreate_topics(self) -> list[str]:
        return await ensure_topics(
            self._bootstrap_servers, self._topics, self._partitions, self._options
        )


def _event_id(record: Any) -> str | None:
    for name, value in record.headers or ():
        if name == EVENT_ID_HEADER:
            return bytes(value).decode(errors="replace")
    return None
