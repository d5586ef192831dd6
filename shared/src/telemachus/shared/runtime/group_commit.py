"""Group commit: commands of one kind that arrive together share one transaction.

On the local store a transaction costs a round trip per statement whatever it holds, and
the store answers about a thousand a second: a cohort enrolling at once (hundreds of
requests a second after an announcement) queued behind its own transactions. Here a
command that arrives while a group is being written waits for the next group, so under
load each transaction carries as many commands as arrived meanwhile, and alone a command
is written at once, as before.

A group either commits whole or not at all. When it fails (one command refused, a
conflict), every command of it runs again alone, so each request gets its own answer:
one person's refusal never becomes another's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from opentelemetry import trace

# (messages, the span contexts of their requests) -> their results, in order
Together = Callable[[list[object], list[trace.SpanContext]], Awaitable[Sequence[Any]]]
Alone = Callable[[object], Awaitable[Any]]
# A command, its request's span context, and where its answer goes.
Waiting = tuple[object, trace.SpanContext, "asyncio.Future[Any]"]


class GroupCommit:
    def __init__(self, together: Together, alone: Alone, *, most: int = 64) -> None:
        self._together = together
        self._alone = alone
        self._most = most
        self._waiting: list[Waiting] = []
        self._writing: asyncio.Task[None] | None = None

    async def submit(self, message: object) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append((message, trace.get_current_span().get_span_context(), future))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write(), name="group commit")
        return await future

    async def _write(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting[: self._most], self._waiting[self._most :]
            await self._commit(group)

    async def _commit(self, group: list[Waiting]) -> None:
        if len(group) > 1:
            try:
                results = await self._together([m for m, _, _ in group], [c for _, c, _ in group])
            except Exception:
                pass  # one refused, or a conflict: each runs again alone, for its own answer
            else:
                for (_, _, future), result in zip(group, results, strict=True):
                    if not future.done():  # its request may have gone meanwhile
                        future.set_result(result)
                return
        for message, context, future in group:
            # Under the request's own trace, as if it had not waited for company.
            with trace.use_span(trace.NonRecordingSpan(context)):
                try:
                    result = await self._alone(message)
                except Exception as error:  # the request's own answer
                    if not future.done():
                        future.set_exception(error)
                    continue
            if not future.done():
                future.set_result(result)
