"""The dead-letter topic: what a consumer could not handle, with the reason in headers.

A failed publish raises: the consumer tries the record again until it is handled or
dead-lettered (consumer.py), so nothing is silently dropped. A body too large to publish
again (an event of megabytes) is dead-lettered by reference: its first bytes, its size
and its SHA-256. Headers are kept as they came; one that is not UTF-8 is kept as base64,
named in `dlq_base64_headers`.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRecord

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
TRUNCATED = "dlq_truncated"
ORIGINAL_BYTES = "dlq_original_bytes"
ORIGINAL_SHA256 = "dlq_original_sha256"
BASE64_HEADERS = "dlq_base64_headers"

# What a dead letter carries of the original at most: well under any producer's limit.
MAX_BODY_BYTES = 64 * 1024
MAX_HEADER_CHARS = 8 * 1024

TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def copied_headers(raw: Iterable[tuple[str, bytes]]) -> dict[str, str]:
    """The original headers as text; a value that is not UTF-8 as base64 (and named)."""
    copied: dict[str, str] = {}
    binary: list[str] = []
    for name, value in raw:
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            text = base64.b64encode(value).decode("ascii")
            binary.append(name)
        copied[name] = text[:MAX_HEADER_CHARS]
    if binary:
        copied[BASE64_HEADERS] = ",".join(binary)
    return copied


def trace_id_of(traceparent: str) -> str | None:
    """The trace id in a W3C traceparent header, if it is one."""
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
        body: bytes = record.value or b""
        headers = copied_headers(record.headers)
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
        if len(body) > MAX_BODY_BYTES:
            headers.update(
                {
                    TRUNCATED: "true",
                    ORIGINAL_BYTES: str(len(body)),
                    ORIGINAL_SHA256: hashlib.sha256(body).hexdigest(),
                }
            )
            body = body[:MAX_BODY_BYTES]
        await self._publish(body, self.topic, record.key, headers)
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
                "event_trace_id": trace_id_of(headers.get("traceparent", "")),
            },
        )
