"""A round's engine from people's shared facts: eligibility, explanations, reasons."""

from __future__ import annotations

from datetime import date, time

import pytest

from telemachus.pairing.matching.availability import overlap_half_hours, weekly_mask
from telemachus.pairing.matching.engine import PinRefused, run_round
from telemachus.pairing.matching.pool import Person, build_pool
from telemachus.pairing.matching.rules import Rules
from telemachus.shared.contracts.vocabulary import PairingMode

WEEK = date(2026, 12, 7)
TOPICS = ["apps", "e-medicine", "well-being"]
OFFICE = (("mon", time(9), time(12)), ("wed", time(14), time(16)))


def person(ref: str, stage: int, **facts: object) -> Person:
    base: dict[str, object] = {
        "institution": ref.split(":")[0],
        "career_stage": stage,
        "profession": "medicine",
        "languages": ("en",),
        "time_zone": "Europe/London",
        "slots": OFFICE,
    }
    base.update(facts)
    return Person(ref=ref, **base)  # type: ignore[arg-type]


def test_availability_is_compared_in_utc_across_a_daylight_saving_change() -> None:
    london = weekly_mask([("mon", time(9), time(11))], "Europe/London", WEEK)
    new_york = weekly_mask([("mon", time(5), time(7))], "America/New_York", WEEK)
    # December: New York is UTC-5, so 05:00-07:00 there is 10:00-12:00 UTC: 1 h in common.
    assert overlap_half_hours(london, new_york) == 2
    # Mid-March 2026 the US is on daylight time and the UK not yet: 2 h in common.
    march = date(2026, 3, 16)
    assert (
        overlap_half_hours(
            weekly_mask([("mon", time(9), time(11))], "Europe/London", march),
            weekly_mask([("mon", time(5), time(7))], "America/New_York", march),
        )
        == 4
    )


def test_a_proposal_is_explained_and_its_terms_add_up() -> None:
    people = [
        person("h:senior", 5, seeks={"apps": 5}),
        person("u:junior", 2, offers={"apps": 4}, profession="nursing"),
    ]
    outcome = run_round(build_pool(people, TOPICS, WEEK), Rules(), PairingMode.ASSIGNED)
    (proposal,) = outcome.proposals
    assert (proposal.mentor, proposal.mentee) == ("u:junior", "h:senior")
    e = proposal.explanation
    assert e.score == sum(t.points for t in e.terms) == 20 + 5 + 3 + 3 + 2
    assert {t.name for t in e.terms} == {
        "topic fit",
        "availability",
        "different professions",
        "different institutions",
        "shared language",
    }
    assert any("reverse direction" in r for r in e.rules)
    assert outcome.unmatched == {}


@pytest.mark.parametrize(
    ("people", "reason"),
    [
        (
            [person("h:s", 5, seeks={"apps": 3}), person("u:j", 2, offers={"well-being": 3})],
            "nobody with a place left offers apps",
        ),
        (
            [person("h:s", 2, seeks={"apps": 3}), person("u:j", 4, offers={"apps": 3})],
            "nobody at a lower career stage offers apps",
        ),
        (
            [
                person("h:s", 5, seeks={"apps": 3}),
                person("u:j", 2, offers={"apps": 3}, slots=(("sat", time(9), time(12)),)),
            ],
            "shares 1 h of weekly availability",
        ),
        (
            [
                person("h:s", 5, seeks={"apps": 3}),
                person("u:j", 2, offers={"apps": 3}, reporting_line=("h:s",)),
            ],
            "line-management chain",
        ),
    ],
)
def test_every_unmatched_person_has_the_rule_that_excluded_them(
    people: list[Person], reason: str
) -> None:
    outcome = run_round(build_pool(people, TOPICS, WEEK), Rules(), PairingMode.ASSIGNED)
    assert outcome.proposals == []
    assert reason in outcome.unmatched["h:s"]
    assert set(outcome.unmatched) == {"h:s", "u:j"}


def test_pins_hold_and_a_pin_that_breaks_a_rule_is_refused() -> None:
    people = [
        person("h:a", 5, seeks={"apps": 5}),
        person("h:b", 5, seeks={"apps": 5}),
        person("u:strong", 2, offers={"apps": 5}),
        person("u:weak", 2, offers={"apps": 1}),
        person("u:boss", 5, offers={"apps": 5}),
    ]
    pool = build_pool(people, TOPICS, WEEK)
    outcome = run_round(pool, Rules(), PairingMode.ASSIGNED, pins=[("u:weak", "h:a")])
    pairs = {(p.mentor, p.mentee, p.pinned) for p in outcome.proposals}
    assert ("u:weak", "h:a", True) in pairs
    assert ("u:strong", "h:b", False) in pairs
    with pytest.raises(PinRefused, match="reverse mentoring"):
        run_round(pool, Rules(), PairingMode.ASSIGNED, pins=[("u:boss", "h:a")])


def test_ranked_mode_follows_rankings_and_mixed_fixes_mutual_first_choices() -> None:
    people = [
        person("h:a", 5, seeks={"apps": 5}),
        person("h:b", 5, seeks={"apps": 5}),
        person("u:x", 2, offers={"apps": 5}),
        person("u:y", 2, offers={"apps": 2}),
    ]
    pool = build_pool(people, TOPICS, WEEK)
    rankings = {"h:a": ["u:y", "u:x"], "u:y": ["h:a", "h:b"], "h:b": ["u:x"], "u:x": ["h:b"]}
    ranked = run_round(pool, Rules(), PairingMode.RANKED, rankings=rankings)
    assert {(p.mentor, p.mentee) for p in ranked.proposals} == {("u:y", "h:a"), ("u:x", "h:b")}
    mixed = run_round(pool, Rules(), PairingMode.MIXED, rankings={"h:a": ["u:y"], "u:y": ["h:a"]})
    assert ("u:y", "h:a") in {(p.mentor, p.mentee) for p in mixed.proposals}
    assert ("u:x", "h:b") in {(p.mentor, p.mentee) for p in mixed.proposals}


def test_availability_is_compared_only_when_both_shared_it() -> None:
    people = [
        person("h:senior", 5, seeks={"apps": 5}, time_zone=None, slots=()),
        person("u:junior", 2, offers={"apps": 4}),
    ]
    outcome = run_round(build_pool(people, TOPICS, WEEK), Rules(), PairingMode.ASSIGNED)
    (proposal,) = outcome.proposals
    assert "availability: not compared, one of them did not share it" in (
        proposal.explanation.rules
    )
    assert next(t for t in proposal.explanation.terms if t.name == "availability").points == 0
