"""Offset commits after the MongoDB commit, but not one by one.

A commit per message costs a broker round trip each (measured: p50 latency 16 ms -> 546 ms).
The inbox makes redelivery harmless, so the highest handled offset per partition is
committed every `interval` seconds or `every` messages, on rebalance and on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from faststream.kafka.message import KafkaMessage

log = logging.getLogger(__name__)


class OffsetCommitter(ConsumerRebalanceListener):
    def __init__(self, *, interval: float, every: int) -> None:
        self._interval = interval
        self._every = every
        self._pending: dict[TopicPartition, int] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._since_commit = 0
        self._due = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.committed: dict[TopicPartition, int] = {}

    def handled(self, message: KafkaMessage) -> None:
        """The message's (or batch's) effect is durable, or it was dead-lettered."""
        records = message.raw_message
        for record in records if isinstance(records, tuple) else (records,):
            partition = TopicPartition(record.topic, record.partition)
            self._pending[partition] = max(self._pending.get(partition, 0), record.offset + 1)
            self._since_commit += 1
        if isinstance(message.consumer, AIOKafkaConsumer):
            self._consumer = message.consumer
        if self._since_commit >= self._every:
            self._due.set()

    def forget(self) -> None:
        """The broker lost its log: offsets handled on it mean nothing on the new one."""
        self._pending = {}
        self.committed = {}
        self._consumer = None
        self._since_commit = 0

    def lag(self) -> dict[tuple[str, int], int]:
        """Per assigned partition this process has handled from: records still ahead of
        what it handled (the broker's high watermark from the last fetch, minus that)."""
        consumer = self._consumer
        if consumer is None:
            return {}
        found = {}
        for partition in consumer.assignment():
            high = consumer.highwater(partition)
            done = max(self.committed.get(partition, 0), self._pending.get(partition, 0))
            if high is not None and done:
                found[(partition.topic, partition.partition)] = max(0, high - done)
        return found

    async def flush(self) -> None:
        async with self._lock:
            offsets, self._pending = self._pending, {}
            self._since_commit = 0
            if not offsets or self._consumer is None:
                return
            try:
                await self._consumer.commit(offsets)
                self.committed.update(offsets)
            except KafkaError as error:
                # After a rebalance the partitions may belong to another member, which
                # starts from the last commit: the inbox makes that redelivery harmless.
                log.warning("offset commit failed (%s); those events will come again", error)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="offset-committer")

    async def stop(self, *, commit: bool = True) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if commit:
            await self.flush()

    async def _run(self) -> None:
        while True:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._due.wait(), timeout=self._interval)
            self._due.clear()
            await self.flush()

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.flush()

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        return None
