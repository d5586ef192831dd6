"""What the reader hands you: an event whose signature held and whose body its schema
accepted, or a refusal saying why not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


class Refused(Exception):
    """The record is not a genuine, valid Telemachus event. `reason` is one word a program
    can act on (`unsigned`, `bad-signature`, `wrong-source`, `invalid`, `unknown-type`,
    `malformed`); `detail` says what in words."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Event:
    """A verified event: its CloudEvents attributes, typed, and its validated data."""

    id: str
    source: str  # /telemachus/<institution>/<service>
    type: str  # org.telemachus.<service>.<name>.v<N>
    time: datetime
    subject: str | None  # the Kafka key: the aggregate's opaque id
    data: dict[str, Any]
    # What `sequence` numbers (the schema's x-sequence-of fields, joined with "/"), and
    # this event's place among the publisher's events about it; None in older records.
    thing: str
    sequence: int | None

    @property
    def institution(self) -> str:
        return self.source.split("/")[2]

    @property
    def service(self) -> str:
        return self.source.split("/")[3]

    @property
    def version(self) -> int:
        return int(self.type.rsplit(".v", 1)[1])
