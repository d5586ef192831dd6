"""What the `telemachus` command prints as it goes: lines, and lines stamped with the
seconds since it started."""

from __future__ import annotations

import time


def say(message: str) -> None:
    print(message, flush=True)


class Clock:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        say(f"[{time.monotonic() - self.started:5.1f}s] {message}")
