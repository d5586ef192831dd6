"""The message bus: one place that runs a handler in a fresh unit of work.

Every command or event is handled in its own transaction, retried when MongoDB reports
a transient transaction error (write conflict), and wrapped in a `handle <Message>` span.
An inbound event carries its inbox entry: seen before, or older than what this service
holds about its aggregate (sequences.py), means nothing happens again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import Any, Generic, TypeVar

from opentelemetry import trace
from opentelemetry.context import Context
from pymongo.errors import DuplicateKeyError, PyMongoError

from telemachus.shared.runtime.faults import is_transient
from telemachus.shared.runtime.group_commit import GroupCommit
from telemachus.shared.runtime.inbox import InboxEntry
from telemachus.shared.runtime.unit_of_work import MongoUnitOfWork

U = TypeVar("U", bound=MongoUnitOfWork)
# A handler takes (message, unit of work); services list theirs by message type.
Handlers = Mapping[type, Callable[..., Awaitable[Any]]]
# Reads, at once, what the handlers of a batch's messages of one type will `get`
# (repository.load): a batch of hundreds costs one read, not one per message.
Prefetches = Mapping[type, Callable[[list[Any], Any], Awaitable[None]]]


class MessageBus(Generic[U]):
    def __init__(
        self,
        uow_factory: Callable[[], U],
        handlers: Handlers,
        tracer: trace.Tracer,
        *,
        attempts: int = 5,
        grouped: Collection[type] = (),
        prefetch: Prefetches | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._handlers = dict(handlers)
        self._tracer = tracer
        self._attempts = attempts
        # Commands that arrive in bursts share transactions (group_commit.py).
        self._grouped = frozenset(grouped)
        self._group = GroupCommit(self._handle_together, self._handle_alone)
        self._prefetch = dict(prefetch or {})

    async def handle(self, message: object, *, inbox: InboxEntry | None = None) -> Any:
        if inbox is None and type(message) in self._grouped:
            return await self._group.submit(message)
        return await self._handle_alone(message, inbox)

    async def _handle_together(
        self, messages: list[object], requests: list[trace.SpanContext]
    ) -> list[Any]:
        name = f"handle group of {len(messages)} {type(messages[0]).__name__}"
        links = [trace.Link(context) for context in requests if context.is_valid]
        # A trace of its own (the transaction is every request's), linked to each request.
        with self._tracer.start_as_current_span(name, context=Context(), links=links) as span:
            span.set_attribute("telemachus.batch_size", len(messages))
            contexts = [trace.set_span_in_context(trace.NonRecordingSpan(c)) for c in requests]

            async def once(uow: U) -> list[Any]:
                await self._read_ahead(messages, uow)
                return [
                    await self._in_own_trace(m, uow, c, span, consumed=False)
                    for m, c in zip(messages, contexts, strict=True)
                ]

            return list(await self._in_transaction(once, span))

    async def _handle_alone(self, message: object, inbox: InboxEntry | None = None) -> Any:
        name = type(message).__name__
        with self._tracer.start_as_current_span(f"handle {name}") as span:
            span.set_attribute("telemachus.message", name)

            async def once(uow: U) -> Any:
                # The inbox row is the first write: its unique _id finds a duplicate
                # without a separate read (one round trip less per event).
                if inbox is not None and not await uow.claim(inbox):
                    span.set_attribute("telemachus.superseded", True)
                    return None
                return await self._handlers[type(message)](message, uow)

            try:
                return await self._in_transaction(once, span)
            except DuplicateKeyError as error:
                if inbox is None or (error.details or {}).get("keyValue") != {"_id": inbox.id}:
                    raise
                span.set_attribute("telemachus.duplicate", True)
                return None

    async def handle_batch(
        self,
        items: list[tuple[object, InboxEntry]],
        traces: Sequence[Context | None] | None = None,
    ) -> None:
        """Inbound events with their inbox entries, all in one transaction (consumer.py).
        With `traces` (each event's published context), each is handled in a span of its
        own trace, linked to the batch's, and what it causes continues that trace."""
        contexts = list(traces) if traces is not None else [None] * len(items)
        links = [
            trace.Link(context)
            for c in contexts
            if c is not None and (context := trace.get_current_span(c).get_span_context()).is_valid
        ]
        name = f"handle batch of {len(items)}"
        with self._tracer.start_as_current_span(name, links=links) as span:
            span.set_attribute("telemachus.batch_size", len(items))

            async def once(uow: U) -> None:
                seen = await uow.handled_among([entry.id for _, entry in items])
                held = await uow.held_sequences(
                    [entry.sequenced.of for _, entry in items if entry.sequenced is not None]
                )
                await self._read_ahead([m for m, e in items if e.id not in seen], uow)
                handled = superseded = 0
                for (message, entry), caused_in in zip(items, contexts, strict=True):
                    if entry.id in seen:
                        continue  # redelivered, or twice in this very batch
                    seen.add(entry.id)
                    uow.mark_handled(entry)
                    mark = entry.sequenced
                    if mark is not None:
                        if held.get(mark.of, 0) >= mark.n:
                            superseded += 1
                            continue
                        held[mark.of] = mark.n
                    await self._in_own_trace(message, uow, caused_in, span)
                    handled += 1
                span.set_attribute("telemachus.duplicates", len(items) - handled - superseded)
                span.set_attribute("telemachus.superseded", superseded)

            await self._in_transaction(once, span)

    async def _in_own_trace(
        self,
        message: object,
        uow: U,
        caused_in: Context | None,
        shared: trace.Span,
        *,
        consumed: bool = True,
    ) -> Any:
        """One message of a batch or group, handled in the trace it came from (the event's
        or the request's), as it would be alone; linked to the shared transaction's span.
        What it causes continues that trace: its events' outbox rows carry it."""
        if caused_in is None:
            return await self._handlers[type(message)](message, uow)
        name = type(message).__name__
        parent, link = caused_in, [trace.Link(shared.get_span_context())]
        with contextlib.ExitStack() as spans:
            if consumed:  # an event: its consumer's processing, as FastStream traces one
                process = spans.enter_context(
                    self._tracer.start_as_current_span(
                        f"process {name}", parent, trace.SpanKind.CONSUMER, links=link
                    )
                )
                parent, link = trace.set_span_in_context(process), []
            span = spans.enter_context(
                self._tracer.start_as_current_span(f"handle {name}", parent, links=link)
            )
            span.set_attribute("telemachus.message", name)
            result = await self._handlers[type(message)](message, uow)
            uow.collect_events()
            return result

    async def _read_ahead(self, messages: list[object], uow: U) -> None:
        by_type: dict[type, list[object]] = {}
        for message in messages:
            by_type.setdefault(type(message), []).append(message)
        for kind, alike in by_type.items():
            load = self._prefetch.get(kind)
            if load is not None and len(alike) > 1:
                await load(alike, uow)

    async def _in_transaction(self, work: Callable[[U], Awaitable[Any]], span: trace.Span) -> Any:
        for attempt in range(1, self._attempts + 1):
            try:
                async with self._uow_factory() as uow:
                    result = await work(uow)
                    await uow.commit()
                    return result
            except PyMongoError as error:
                if not is_transient(error) or attempt == self._attempts:
                    raise
                span.add_event("transient transaction error; retrying", {"attempt": attempt})
                await asyncio.sleep(0.01 * 2**attempt)
        raise AssertionError("unreachable")
