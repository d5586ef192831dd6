"""Forms as people fill them in: each problem names its field, and nothing is lost."""

from __future__ import annotations

import pytest

from telemachus.portal.adapters.services import _refusal
from telemachus.portal.domain.profile_form import form_values, read_profile
from telemachus.portal.domain.sessions import safe_next
from telemachus.portal.entrypoints.coordinator import _program_terms
from telemachus.portal.service_layer.coordination import stalled_first
from telemachus.portal.settings import PortalSettings

TOPICS = ["e-medicine", "apps"]


def filled(**overrides: str) -> dict[str, str]:
    return {
        "profession": "nursing",
        "career_stage": "2",
        "languages": "en, fr",
        "max_relationships": "2",
        "offer-e-medicine": "5",
        "seek-apps": "3",
        "time_zone": "Europe/London",
        "slot-0-day": "tue",
        "slot-0-start": "09:00",
        "slot-0-end": "11:30",
        **overrides,
    }


def test_a_complete_profile_becomes_the_identity_api_changes() -> None:
    checked = read_profile(filled(), TOPICS)
    assert checked.valid
    assert checked.changes == {
        "profession": "nursing",
        "career_stage": 2,
        "languages": ["en", "fr"],
        "max_relationships": 2,
        "topics_offered": [{"topic": "e-medicine", "proficiency": 5}],
        "topics_sought": [{"topic": "apps", "priority": 3}],
        "availability": {
            "time_zone": "Europe/London",
            "slots": [{"day": "tue", "start": "09:00", "end": "11:30"}],
        },
    }
    # The stored profile shows in the form as it was entered.
    assert form_values(checked.changes)["slot-0-end"] == "11:30"


@pytest.mark.parametrize(
    ("overrides", "field", "says"),
    [
        ({"profession": "astrologer"}, "profession", "choose your profession"),
        ({"career_stage": "9"}, "career_stage", "choose your career stage"),
        ({"languages": "english"}, "languages", "not a language code"),
        ({"max_relationships": "40"}, "max_relationships", "1 to 12"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "not a time zone"),
        ({"time_zone": ""}, "time_zone", "which time zone"),
        ({"slot-0-end": "08:00"}, "slot-0-end", "after the start"),
        ({"slot-0-start": "nine"}, "slot-0-start", "a start and an end"),
        ({"slot-0-day": "someday"}, "slot-0-day", "choose a day"),
    ],
)
def test_each_problem_names_its_field_and_keeps_what_was_typed(
    overrides: dict[str, str], field: str, says: str
) -> None:
    checked = read_profile(filled(**overrides), TOPICS)
    assert not checked.valid
    assert says in checked.errors[field].message % dict(checked.errors[field].values)
    assert checked.values["languages"] == filled(**overrides)["languages"]


def test_a_program_form_names_each_problem() -> None:
    terms, errors = _program_terms(
        {
            "title": "x",
            "topics": [],
            "mode": "best",
            "weeks": "0",
            "sessions": "6",
            "opens": "2027-02-01",
            "closes": "2027-01-01",
            "partners": [],
        }
    )
    assert terms == {}
    assert set(errors) == {"title", "topics", "mode", "weeks", "closes"}


def test_after_sign_in_only_a_path_on_this_portal() -> None:
    assert safe_next("/profile?x=1") == "/profile?x=1"
    for elsewhere in ("https://evil.example/", "//evil.example/", "/\\evil.example", "", None):
        assert safe_next(elsewhere) == "/"


def test_stalled_relationships_come_first_longest_stalled_first() -> None:
    ordered = stalled_first(
        [
            {"id": "done", "status": "completed", "starts_on": "2026-01-01"},
            {"id": "fine", "status": "active", "starts_on": "2026-02-01"},
            {"id": "late", "status": "active", "stalled_since": "2026-05-01"},
            {"id": "later", "status": "active", "stalled_since": "2026-03-01"},
        ]
    )
    assert [r["id"] for r in ordered] == ["later", "late", "fine", "done"]


def test_a_services_refusal_keeps_its_reason_and_field() -> None:
    import httpx

    problem = httpx.Response(
        409,
        json={
            "type": "urn:telemachus:problem:conflict",
            "title": "In conflict",
            "status": 409,
            "detail": "already answered",
            "field": "window_id",
        },
        headers={"content-type": "application/problem+json"},
    )
    assert (_refusal(problem).reason, _refusal(problem).field) == ("already answered", "window_id")
    several = httpx.Response(
        422,
        json={
            "type": "urn:telemachus:problem:invalid",
            "title": "Invalid",
            "status": 422,
            "detail": "goals.0: measures x measures reaction, not learning; levels: y",
            "field": "goals.0",
            "errors": [
                {"field": "goals.0", "reason": "measures x measures reaction, not learning"},
                {"field": "levels", "reason": "y"},
            ],
        },
    )
    assert _refusal(several).reason == "measures x measures reaction, not learning"
    # The shapes of services from before RFC 9457, which a partner may still run:

    domain = httpx.Response(409, json={"detail": {"reason": "already answered", "field": "x"}})
    assert (_refusal(domain).reason, _refusal(domain).field) == ("already answered", "x")
    malformed = httpx.Response(
        422, json={"detail": [{"loc": ["body", "minutes"], "msg": "too long"}]}
    )
    assert (_refusal(malformed).reason, _refusal(malformed).field) == ("too long", "minutes")
    assert _refusal(httpx.Response(502, text="<html>")).status == 502


def test_the_directory_of_services_is_checked_at_start() -> None:
    settings = PortalSettings(
        institution="st-marys",
        portal_services="st-marys/identity=http://identity:8000/,lead-x/pairing=https://p.example",
    )
    assert settings.service_url("st-marys", "identity") == "http://identity:8000"
    with pytest.raises(ValueError, match="expected <institution>/<service>=<url>"):
        PortalSettings(institution="st-marys", portal_services="st-marys/billing=http://x")
