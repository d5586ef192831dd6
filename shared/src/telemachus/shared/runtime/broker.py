"""The Kafka side: a FastStream broker with tracing, and the topics a service owns."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
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


async def ensure_topics(
    bootstrap_servers: str,
    topics: Sequence[str],
    partitions: int,
    client_options: Mapping[str, Any] | None = None,
) -> None:
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


class KafkaBrokerLog:
    """What the relay asks the broker to find lost records (see lost_records).

    It reads records rather than asking for end offsets: the local broker answers a
    ListOffsets with the last batch's base offset plus one, not the log's end.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        topics: Sequence[str],
        partitions: int,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._topics = list(topics)
        self._partitions = partitions
        self._options = dict(client_options or {})
        self._consumer: AIOKafkaConsumer | None = None

    async def _reader(self, topic: str, partition: int) -> AIOKafkaConsumer:
        if self._consumer is None:
            # No group: it reads by position. A short timeout: a broker that does not
            # answer is tried again at the next check, not waited on for 40 s.
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap_servers,
                request_timeout_ms=5_000,
                enable_auto_commit=False,
                auto_offset_reset="none",
                **self._options,
            )
            await consumer.start()
            self._consumer = consumer
        self._consumer.assign([TopicPartition(topic, partition)])
        return self._consumer

    async def event_at(self, topic: str, partition: int, offset: int) -> str | None:
        tp = TopicPartition(topic, partition)
        reader = await self._reader(topic, partition)
        reader.seek(tp, offset)
        try:
            found = await reader.getmany(tp, timeout_ms=2_000, max_records=1)
        except OffsetOutOfRangeError:
            return None
        records = found.get(tp, [])
        if not records or records[0].offset != offset:
            return None
        return _event_id(records[0])

    async def event_ids(self, topic: str, partition: int, through: int) -> set[str]:
        """Ids of the events in the partition, read to past `through` (the last offset we
        know of) or until it yields nothing three times in a row: a fetch may come back
        empty before the end, and a missed id would be published twice."""
        tp = TopicPartition(topic, partition)
        reader = await self._reader(topic, partition)
        await reader.seek_to_beginning(tp)
        ids: set[str] = set()
        empty = 0
        while empty < 3:
            try:
                found = await reader.getmany(tp, timeout_ms=1_000, max_records=500)
            except OffsetOutOfRangeError:
                return ids
            if found.get(tp):
                empty = 0
                ids.update(i for i in map(_event_id, found[tp]) if i is not None)
            elif await reader.position(tp) > through:
                return ids
            else:
                empty += 1
        return ids

    async def recreate_topics(self) -> None:
        await ensure_topics(self._bootstrap_servers, self._topics, self._partitions, self._options)

    async def close(self) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await consumer.stop()


def _event_id(record: Any) -> str | None:
    for name, value in record.headers or ():
        if name == EVENT_ID_HEADER:
            return bytes(value).decode(errors="replace")
    return None
