"""Jobs a service runs on a timer while it is up (deadline sweeps and the like).

A failing run is logged and the next one comes on time: a sweep that fails once must
not stop sweeping. Every replica runs its jobs; they must be idempotent (the unit of
work's version check makes two replicas' sweeps of one aggregate conflict, not repeat).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)
Job = Callable[[], Awaitable[object]]


@dataclass
class PeriodicJobs:
    _jobs: list[tuple[str, float, Job]] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def every(self, seconds: float, name: str, job: Job) -> None:
        self._jobs.append((name, seconds, job))

    def start(self) -> None:
        for name, seconds, job in self._jobs:
            self._tasks.append(asyncio.create_task(self._loop(name, seconds, job), name=name))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    @staticmethod
    async def _loop(name: str, seconds: float, job: Job) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except Exception:
                log.exception("periodic job %s failed; next run in %.0fs", name, seconds)
