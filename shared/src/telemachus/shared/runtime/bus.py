"""The message bus: one place that runs a handler in a fresh unit of work.

Every command or event is handled in its own transaction, retried when MongoDB reports
a transient transaction error (write conflict), and wrapped in a `handle <Message>` span.
An inbound event carries its inbox id: seen before means nothing happens again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

from opentelemetry import trace
from pymongo.errors import DuplicateKeyError, PyMongoError

from telemachus.shared.runtime.faults import is_transient
from telemachus.shared.runtime.unit_of_work import MongoUnitOfWork

U = TypeVar("U", bound=MongoUnitOfWork)
# A handler takes (message, unit of work); services list theirs by message type.
Handlers = Mapping[type, Callable[..., Awaitable[Any]]]


class MessageBus(Generic[U]):
    def __init__(
        self,
        uow_factory: Callable[[], U],
        handlers: Handlers,
        tracer: trace.Tracer,
        *,
        attempts: int = 5,
    ) -> None:
        self._uow_factory = uow_factory
        self._handlers = dict(handlers)
        self._tracer = tracer
        self._attempts = attempts

    async def handle(self, message: object, *, inbox_id: str | None = None) -> Any:
        name = type(message).__name__
        with self._tracer.start_as_current_span(f"handle {name}") as span:
            span.set_attribute("telemachus.message", name)

            async def once(uow: U) -> Any:
                if inbox_id is not None:
                    # The inbox row is the first write: its unique _id finds a duplicate
                    # without a separate read (one round trip less per event).
                    await uow.claim(inbox_id)
                return await self._handlers[type(message)](message, uow)

            try:
                return await self._in_transaction(once, span)
            except DuplicateKeyError as error:
                if inbox_id is None or (error.details or {}).get("keyValue") != {"_id": inbox_id}:
                    raise
                span.set_attribute("telemachus.duplicate", True)
                return None

    async def handle_batch(self, items: list[tuple[object, str]]) -> None:
        """Inbound events with their inbox ids, all in one transaction (see consumer.py)."""
        with self._tracer.start_as_current_span(f"handle batch of {len(items)}") as span:
            span.set_attribute("telemachus.batch_size", len(items))

            async def once(uow: U) -> None:
                seen = await uow.handled_among([inbox_id for _, inbox_id in items])
                handled = 0
                for message, inbox_id in items:
                    if inbox_id in seen:
                        continue  # redelivered, or twice in this very batch
                    await self._handlers[type(message)](message, uow)
                    uow.mark_handled(inbox_id)
                    seen.add(inbox_id)
                    handled += 1
                span.set_attribute("telemachus.duplicates", len(items) - handled)

            await self._in_transaction(once, span)

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
