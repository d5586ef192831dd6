"""A background worker that drains a queue kept in the store (the mail outbox, webhook
deliveries): it works again at once while there was work, and waits `idle_seconds` when
there was none. A failure is logged and the work tried again: the queue is the record,
so nothing is lost by trying later."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class QueueWorker:
    def __init__(self, name: str, work: Callable[[], Awaitable[int]], idle_seconds: float) -> None:
        """`work` does one round and returns how much it did."""
        self._name = name
        self._work = work
        self._idle_seconds = idle_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():  # started once, however often asked
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                done = await self._work()
            except Exception:
                log.exception("%s failed; trying again", self._name)
                done = 0
            if not done:
                await asyncio.sleep(self._idle_seconds)
