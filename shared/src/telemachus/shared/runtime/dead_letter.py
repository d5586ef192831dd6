"""The dead-letter topic: what a consumer could not handle, with the reason in headers.

Publishing there is retried until it succeeds: the consumer moves past an event only
once it is either handled or dead-lettered, so nothing is silently dropped.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRecord

from telemachus.shared.contracts.envelope import decode_headers
from telemachus.shared.runtime.metrics import ServiceMetrics

log = logging.getLogger(__name__)

# Headers added to a dead-lettered record; the original headers are kept as they were.
REASON = "dlq_reason"
DETAIL = "dlq_detail"
ORIGINAL_TOPIC = "dlq_original_topic"
ORIGINAL_PARTITION = "dlq_original_partition"
ORIGINAL_OFFSET = "dlq_original_offset"
CONSUMER_GROUP = "dlq_consumer_group"
FAILED_AT = "dlq_failed_at"

TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def _trace_id(traceparent: str) -> str | None:
    match = TRACEPARENT.match(traceparent)
    return match.group(1) if match else None


PublishFn = Callable[[bytes, str, bytes | None, dict[str, str]], Awaitable[Any]]


class DeadLetterPublisher:
    def __init__(
        self,
        topic: str,
        consumer_group: str,
        publish: PublishFn,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self.topic = topic
        self._group = consumer_group
        self._publish = publish
        self._metrics = metrics
        self.count = 0
        self.by_reason: Counter[str] = Counter()

    async def send(self, record: ConsumerRecord[Any, Any], reason: str, detail: str) -> None:
        try:
            headers = decode_headers(record.headers)
        except ValueError:
            headers = {}  # the headers themselves were the problem; the reason says so
        headers.update(
            {
                REASON: reason,
                DETAIL: detail[:2000],
                ORIGINAL_TOPIC: record.topic,
                ORIGINAL_PARTITION: str(record.partition),
                ORIGINAL_OFFSET: str(record.offset),
                CONSUMER_GROUP: self._group,
                FAILED_AT: datetime.now(UTC).isoformat(),
            }
        )
        delay = 0.1
        while True:
            try:
                await self._publish(record.value or b"", self.topic, record.key, headers)
                break
            except Exception:
                log.exception("dead-letter publish to %s failed; retrying", self.topic)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        self.count += 1
        self.by_reason[reason] += 1
        if self._metrics is not None:
            self._metrics.dead_lettered.add(1, {"reason": reason, "topic": record.topic})
        log.warning(
            "event dead-lettered",
            extra={
                "reason": reason,
                "detail": detail[:500],
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                # The producer's trace: where the refused event came from.
                "event_trace_id": _trace_id(headers.get("traceparent", "")),
            },
        )
