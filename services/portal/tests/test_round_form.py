"""The open-round form: a pair round by default, circles with the sizes as typed."""

from __future__ import annotations

from telemachus.portal.domain.round_form import round_request


def test_a_plain_round_asks_for_pairs() -> None:
    assert round_request({"csrf": "x"}) == {}


def test_a_circle_round_sends_its_sizes_and_leaves_bad_ones_for_the_service_to_name() -> None:
    assert round_request({"format": "circles", "smallest": "3", "largest": " 4 "}) == {
        "format": "circles",
        "circle_sizes": {"smallest": 3, "largest": 4},
    }
    assert round_request({"format": "circles", "smallest": "two", "largest": ""}) == {
        "format": "circles",
        "circle_sizes": {"smallest": "two"},
    }
