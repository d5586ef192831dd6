"""Counting the store's reads from a test: which work costs a round trip."""

from __future__ import annotations

from pymongo import monitoring


class Finds(monitoring.CommandListener):
    """Counts `find` commands, of one collection or of any."""

    def __init__(self, collection: str | None = None) -> None:
        self.collection = collection
        self.count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            self.count += self.collection in (None, event.command["find"])

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass
