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
from pymongo.errors import PyMongoError

from telemachus.shared.runtime.unit_of_work import MongoUnitOfWork

U = TypeVar("U", bound=MongoUnitOfWork)
Handler = Callable[[Any, U], Awaitable[Any]]
_TRANSIENT = ("TransientTransactionError", "UnknownTransactionCommitResult")


def _is_transient(error: PyMongoError) -> bool:
    return any(error.has_error_label(label) for label in _TRANSIENT)


class MessageBus(Generic[U]):
    def __init__(
        self,
        uow_factory: Callable[[], U],
        handlers: Mapping[type, Handler[U]],
        tracer: trace.Tracer,
        *,
        attempts: int = 5,
    ) -> None:
        self._uow_factory = uow_factory
        self._handlers = dict(handlers)
        self._tracer = tracer
        self._attempts = attempts

    async def handle(self, message: object, *, inbox_id: str | None = None) -> Any:
        handler = self._handlers[type(message)]
        name = type(message).__name__
        with self._tracer.start_as_current_span(f"handle {name}") as span:
            span.set_attribute("telemachus.message", name)
            for attempt in range(1, self._attempts + 1):
                try:
                    async with self._uow_factory() as uow:
                        if inbox_id is not None and await uow.already_handled(inbox_id):
                            span.set_attribute("telemachus.duplicate", True)
                            return None
                        result = await handler(message, uow)
                        if inbox_id is not None:
                            uow.mark_handled(inbox_id)
                        await uow.commit()
                        return result
                except PyMongoError as error:
                    if not _is_transient(error) or attempt == self._attempts:
                        raise
                    span.add_event("transient transaction error; retrying", {"attempt": attempt})
                    await asyncio.sleep(0.01 * 2**attempt)
        raise AssertionError("unreachable")
