from __future__ import annotations

from typing import Any

from telemachus.portal.domain.circle_seats import ShortCircle, short_circles


def seat(circle: str | None, status: str, lead: str = "lead-1") -> dict[str, Any]:
    return {"circle_id": circle, "status": status, "mentor_ref": lead, "topic": "apps"}


def test_a_circle_below_its_smallest_size_is_named_with_its_live_seats() -> None:
    pairings = [
        seat("c1", "confirmed"),
        seat("c1", "declined"),
        seat("c1", "expired"),
        seat("c2", "proposed", "lead-2"),
        seat("c2", "confirmed", "lead-2"),
        seat("c2", "withdrawn", "lead-2"),
    ]
    assert short_circles(pairings, smallest=2) == [ShortCircle("c1", "lead-1", "apps", 3, 1)]
    assert short_circles(pairings, smallest=3) == [
        ShortCircle("c1", "lead-1", "apps", 3, 1),
        ShortCircle("c2", "lead-2", "apps", 3, 2),
    ]


def test_pairs_and_circles_with_no_live_seat_are_not_listed() -> None:
    pairings = [
        seat(None, "declined"),
        seat("c3", "declined"),
        seat("c3", "ended"),
        seat("c4", "proposed"),
        seat("c4", "proposed"),
    ]
    assert short_circles(pairings, smallest=2) == []
