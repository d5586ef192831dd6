"""Circles that lost seats after publication: each seat is answered on its own, so a
circle formed with its smallest size can fall below it when seniors decline, let the
deadline pass, leave the program or end early. The coordinator is told which."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# A seat still counts while it is awaiting answers or accepted.
LIVE = frozenset({"proposed", "confirmed"})


@dataclass(frozen=True)
class ShortCircle:
    circle_id: str
    lead_ref: str
    topic: str
    seats: int  # as published
    live: int  # still proposed or accepted


def short_circles(pairings: Iterable[Mapping[str, Any]], smallest: int) -> list[ShortCircle]:
    """The published circles with fewer live seats than `smallest`, in the order their
    first seat comes; a circle none of whose seats is live is left out (it is over)."""
    seats: dict[str, list[Mapping[str, Any]]] = {}
    for pairing in pairings:
        if pairing.get("circle_id"):
            seats.setdefault(str(pairing["circle_id"]), []).append(pairing)
    short = []
    for circle_id, held in seats.items():
        live = sum(1 for p in held if p.get("status") in LIVE)
        if 0 < live < smallest:
            first = held[0]
            short.append(
                ShortCircle(
                    circle_id, str(first["mentor_ref"]), str(first["topic"]), len(held), live
                )
            )
    return short
