"""One line per record, as both examples print it: `verified <type> <id>`, or
`refused <reason>: <detail>`. The checks are the telemachus-integrator library's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telemachus_integrator import Event, Refused


def verdict(read: Callable[..., Event], *record: Any) -> str:
    """`read(*record)`: the library's from_kafka or from_http."""
    try:
        event = read(*record)
    except Refused as refused:
        return f"refused {refused}"
    return f"verified {event.type} {event.id}"
