"""Reading topics in tests the way an outside integrator would: a plain aiokafka consumer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.envelope import decode_headers

T = TypeVar("T")
# How long a probe begun before the deadline may still take.
PROBE_GRACE = 10.0
# Empty polls in a row after which a reader still behind a partition's end stops.
IDLE_POLLS = 6


async def read_topic(
    bootstrap: str, topic: str, *, settle: float = 0.5, within: float = 30.0
) -> list[ConsumerRecord]:
    """Every record on the topic now, from the start, by direct partition assignment.

    Stops early when polls bring nothing though the ends say more (a broker that restarted
    may list an end offset it cannot serve yet), and gives up with TimeoutError after
    `within` seconds saying how far it got, rather than hang the test."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    records: list[ConsumerRecord] = []
    end: dict[TopicPartition, int] = {}
    try:
        async with asyncio.timeout(within):
            await consumer.start()
            partitions = consumer.partitions_for_topic(topic)
            for _ in range(50):
                if partitions:
                    break
                await consumer.topics()
                await asyncio.sleep(0.1)
                partitions = consumer.partitions_for_topic(topic)
            assigned = [TopicPartition(topic, p) for p in sorted(partitions or [])]
            consumer.assign(assigned)
            end = await consumer.end_offsets(assigned)

            async def behind() -> bool:
                return any([await consumer.position(tp) < end[tp] for tp in assigned])

            idle = 0
            while await behind() and idle < IDLE_POLLS:
                batch = await consumer.getmany(timeout_ms=int(settle * 1000))
                for items in batch.values():
                    records.extend(items)
                # Behind its end, yet nothing comes: seen on a broker just restarted (an
                # end offset it cannot serve yet). What was read is what there is now.
                idle = 0 if batch else idle + 1
            return records
    except TimeoutError:
        raise TimeoutError(
            f"{topic}: {len(records)} records read in {within}s, ends {end}"
        ) from None
    finally:
        await consumer.stop()


def headers_of(record: ConsumerRecord) -> dict[str, str]:
    return decode_headers(record.headers)


async def produce(
    bootstrap: str, topic: str, value: bytes, headers: Mapping[str, str], key: bytes | None = None
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        await producer.send_and_wait(
            topic,
            value,
            key=key,
            headers=[(k, v.encode("utf-8", "surrogateescape")) for k, v in headers.items()],
        )
    finally:
        await producer.stop()


async def produce_event(
    bootstrap: str, topic: str, event: IntegrationEvent, headers: Mapping[str, str]
) -> None:
    """A wire event as its publisher sends it: JSON body, keyed by its aggregate id."""
    await produce(
        bootstrap, topic, event.model_dump_json().encode(), headers, key=event.key.encode()
    )


async def produce_events(
    bootstrap: str, topic: str, events: Sequence[tuple[IntegrationEvent, Mapping[str, str]]]
) -> None:
    """Many wire events through one producer, in order (a burst, as a busy lead sends)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        for event, headers in events:
            await producer.send(
                topic,
                event.model_dump_json().encode(),
                key=event.key.encode(),
                headers=[(k, v.encode("utf-8", "surrogateescape")) for k, v in headers.items()],
            )
        await producer.flush()
    finally:
        await producer.stop()


async def eventually(
    probe: Callable[[], Awaitable[T]], *, within: float = 30.0, every: float = 0.1
) -> T:
    """Poll an async probe until it returns something truthy; fail with what it last saw.

    A probe that times out (TimeoutError) has not seen it yet and is asked again; none is
    let run more than PROBE_GRACE past the deadline, so a probe that hangs fails the test
    here, named, instead of at the suite's timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    value: T | None = None
    while True:
        try:
            async with asyncio.timeout_at(deadline + PROBE_GRACE):
                value = await probe()
        except TimeoutError as gave_up:
            if loop.time() >= deadline:
                raise AssertionError(
                    f"not true within {within}s: the probe did not answer ({gave_up}; "
                    f"last: {value!r})"
                ) from None
        else:
            if value:
                return value
        if loop.time() > deadline:
            raise AssertionError(f"not true within {within}s (last: {value!r})")
        await asyncio.sleep(every)
