"""The base of every aggregate: an id, a version, and the events it recorded.

Aggregates record events; they never publish them. The unit of work collects them at
commit and writes them to the outbox in the same transaction as the aggregate.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, PrivateAttr


class Aggregate(BaseModel):
    model_config = ConfigDict(validate_assignment=True)

    id: str
    version: int = 0
    _events: list[object] = PrivateAttr(default_factory=list)

    def record(self, event: object) -> None:
        self._events.append(event)

    @property
    def has_events(self) -> bool:
        return bool(self._events)

    def pop_events(self) -> list[object]:
        events, self._events = self._events, []
        return events
