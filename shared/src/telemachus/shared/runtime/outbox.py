"""The transactional outbox and its relay.

A unit of work writes outbox rows in the same MongoDB transaction as the state change;
the relay publishes unsent rows to Kafka in `_id` order (send many, then flush), marks
them sent, and retries with backoff when the broker fails. A crash between commit and
publish loses nothing: the rows are still unsent when the relay starts again. Each sent
row keeps where the broker put it, so what the broker loses later is found and published
again (lost_records.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from opentelemetry import context as otel_context
from opentelemetry import propagate
from opentelemetry.instrumentation.utils import suppress_instrumentation
from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.envelope import CloudEventAttributes
from telemachus.shared.runtime.lease import Lease
from telemachus.shared.runtime.lost_records import (
    EVENT_ID_HEADER,
    REPUBLISHED_HEADER,
    LostRecords,
)
from telemachus.shared.runtime.metrics import ServiceMetrics
from telemachus.shared.runtime.store import Document, update_many_alone
from telemachus.shared.security.signing import MATERIAL_HEADER, EventSigner

OUTBOX_COLLECTION = "outbox"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Publication:
    """Where and as whom a service publishes, and the key it signs with."""

    topic: str
    source: str
    signer: EventSigner | None = None


def current_carrier() -> dict[str, str]:
    """The current trace context, as headers carry it."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def outbox_row(
    event: IntegrationEvent, publication: Publication, carrier: dict[str, str] | None = None
) -> Document:
    """Everything the relay needs, fixed at commit time (id, time, and the trace context
    the event was caused in: `carrier`, or the current one)."""
    attributes = CloudEventAttributes(
        id=str(uuid.uuid4()),
        source=publication.source,
        type=event.event_type,
        time=datetime.now(UTC),
        subject=event.key,
    )
    carrier = current_carrier() if carrier is None else carrier
    payload = event.model_dump_json().encode()
    headers = attributes.to_headers()
    if publication.signer is not None:
        # Signed at commit: the row is published as it is, however often the relay retries.
        headers[MATERIAL_HEADER] = publication.signer.material(attributes, payload)
    return {
        # ObjectIds made in one process increase, so `_id` order is commit-call order.
        "_id": ObjectId(),
        "topic": publication.topic,
        "key": event.key,
        "headers": headers,
        "payload": payload,
        "trace_carrier": carrier,
        "created_at": attributes.time,
        "sent_at": None,
        "attempts": 0,
    }


async def ensure_outbox_indexes(
    collection: AsyncCollection[Document], retention_seconds: int
) -> None:
    # The relay's query: unsent rows in order.
    await collection.create_index([("sent_at", ASCENDING), ("_id", ASCENDING)])
    # Sent rows expire; unsent ones (sent_at null) never do.
    await collection.create_index(
        "sent_at", name="sent_at_ttl", expireAfterSeconds=retention_seconds
    )
    # Erasure finds one person's rows by key.
    await collection.create_index("key")
    # What the broker lost: the last row placed per partition, and the rows placed there.
    await collection.create_index([("topic", ASCENDING), ("partition", ASCENDING), ("offset", -1)])


# (topic, key, payload, headers) -> a future that resolves when the broker has the record.
SendFn = Callable[[str, str, bytes, dict[str, str]], Awaitable["asyncio.Future[Any]"]]


class OutboxRelay:
    def __init__(
        self,
        collection: AsyncCollection[Document],
        send: SendFn,
        *,
        poll_seconds: float,
        batch_size: int,
        max_backoff_seconds: float = 10.0,
        lease: Lease | None = None,
        metrics: ServiceMetrics | None = None,
        lost: LostRecords | None = None,
    ) -> None:
        self._collection = collection
        self._send = send
        self._poll_seconds = poll_seconds
        self._batch_size = batch_size
        self._max_backoff = max_backoff_seconds
        # Among replicas of a service only the lease holder publishes, so rows of one key
        # go out in order from one place.
        self._lease = lease
        self._metrics = metrics
        # Finds what the broker lost of what was published, and queues it again.
        self._lost = lost
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def nudge(self) -> None:
        """Called after a local commit so the rows go out without waiting for the poll."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._lease is not None:
            await self._lease.release()  # another replica may take over at once

    async def backlog(self) -> int:
        return await self._collection.count_documents({"sent_at": None})

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self.publish_pending()
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying in %.1fs", backoff)
                if self._lost is not None:
                    self._lost.check_soon()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_seconds)
            self._wake.clear()

    async def publish_pending(self) -> int:
        """Publish every unsent row, oldest first; returns how many were sent.

        With a lease, only while it is held: checked before each batch, so a long backlog
        does not outlast the lease's term.
        """
        total = 0
        checked = False
        while True:
            # Polling and the lease are housekeeping, not a trace: an idle service would
            # otherwise write a root span per poll (about 1 GB of traces a day).
            with suppress_instrumentation():
                if self._lease is not None and not await self._lease.hold():
                    if self._lost is not None:
                        self._lost.forget()
                    return total
                if self._lost is not None and not checked:
                    await self._lost.check_if_due()
                    checked = True
                self._wake.clear()
                rows = (
                    await self._collection.find({"sent_at": None})
                    .sort("_id", ASCENDING)
                    .to_list(self._batch_size)
                )
                await self._report_backlog(rows)
            if not rows:
                return total
            total += await self._publish_batch(rows)

    async def _report_backlog(self, rows: list[Document]) -> None:
        """Exact without a count per cycle: a batch not full is all there is."""
        if self._metrics is None:
            return
        full = len(rows) == self._batch_size
        self._metrics.outbox_backlog = await self.backlog() if full else len(rows)
        # Rows go out oldest first, and an ObjectId carries the time it was made.
        self._metrics.outbox_oldest_seconds = (
            (datetime.now(UTC) - rows[0]["_id"].generation_time).total_seconds() if rows else 0.0
        )

    async def _publish_batch(self, rows: list[Document]) -> int:
        pending: list[asyncio.Future[Any]] = []
        for row in rows:
            headers = row["headers"]
            if row.get("republish"):
                headers = {**headers, REPUBLISHED_HEADER: "lost-by-broker"}
            # The publish span joins the trace of the request that wrote the row.
            token = otel_context.attach(propagate.extract(row.get("trace_carrier") or {}))
            try:
                pending.append(
                    await self._send(row["topic"], row["key"], bytes(row["payload"]), headers)
                )
            finally:
                otel_context.detach(token)
        results = await asyncio.gather(*pending, return_exceptions=True)
        # Only the prefix before the first failure is marked sent: a later row of the same
        # key must not overtake an earlier one that will be retried.
        sent: list[tuple[Document, Any]] = []
        failure: BaseException | None = None
        for row, result in zip(rows, results, strict=True):
            if isinstance(result, BaseException):
                failure = result
                break
            sent.append((row, result))
        if sent:
            await self._mark_sent(sent)
        if failure is not None:
            await update_many_alone(
                self._collection,
                {"_id": {"$in": [row["_id"] for row in rows[len(sent) :]]}},
                {"$inc": {"attempts": 1}, "$set": {"last_error": repr(failure)[:500]}},
            )
            raise failure
        return len(sent)

    async def _mark_sent(self, sent: list[tuple[Document, Any]]) -> None:
        """Sent, and where the broker put each row: what tells a lost record later."""
        now = datetime.now(UTC)
        placed = [
            (
                row["_id"],
                (row["topic"], int(meta.partition)),
                int(meta.offset),
                row["headers"][EVENT_ID_HEADER],
            )
            for row, meta in sent
            if getattr(meta, "offset", None) is not None
        ]
        if len(placed) < len(sent):  # a sender that does not say where (test doubles)
            await update_many_alone(
                self._collection,
                {"_id": {"$in": [row["_id"] for row, _ in sent]}},
                {"$set": {"sent_at": now}, "$unset": {"republish": ""}},
            )
            return
        await self._collection.bulk_write(
            [
                UpdateOne(
                    {"_id": row_id},
                    {
                        "$set": {"sent_at": now, "partition": partition, "offset": offset},
                        "$unset": {"republish": ""},
                    },
                )
                for row_id, (_, partition), offset, _ in placed
            ],
            ordered=False,
        )
        if self._lost is not None:
            await self._lost.published(placed)
