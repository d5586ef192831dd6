from __future__ import annotations

from telemachus.pairing.matching.greedy import Person, propose, score_pair


def person(
    ref: str,
    stage: int | None,
    *,
    offers: dict[str, int] | None = None,
    seeks: dict[str, int] | None = None,
    institution: str = "a",
    profession: str = "medicine",
    capacity: int = 1,
) -> Person:
    return Person(
        ref, institution, profession, stage, offers or {}, seeks or {}, frozenset({"en"}), capacity
    )


def test_only_a_less_senior_mentor_who_offers_the_topic_is_eligible() -> None:
    senior = person("a:senior", 4, seeks={"apps": 5})
    junior = person("b:junior", 2, offers={"apps": 4}, institution="b", profession="nursing")
    peer = person("a:peer", 4, offers={"apps": 5})
    scored = score_pair(junior, senior, "apps")
    assert scored is not None
    score, terms = scored
    assert score == 5 * 4 + 2 + 2 + 1
    assert any("different institutions" in t for t in terms)
    assert score_pair(peer, senior, "apps") is None  # same stage: not reverse
    assert score_pair(senior, junior, "apps") is None  # classic direction
    assert score_pair(junior, senior, "e-medicine") is None  # topic not offered


def test_capacity_is_respected_and_every_unmatched_person_has_a_reason() -> None:
    mentor = person("b:m", 2, offers={"apps": 5}, capacity=1)
    first = person("a:s1", 4, seeks={"apps": 5})
    second = person("a:s2", 5, seeks={"apps": 3})
    hidden = person("a:s3", None, seeks={"apps": 5})
    nobody = person("a:s4", 4, seeks={"genetics": 5})
    proposals, unmatched = propose(
        [mentor, first, second, hidden, nobody], ["apps", "genetics"], set()
    )
    assert [(p.mentor, p.mentee) for p in proposals] == [("b:m", "a:s1")]
    assert unmatched == {
        "a:s2": "every eligible mentor was already at capacity",
        "a:s3": "career stage not shared, so no reverse pair can be checked",
        "a:s4": "nobody at a lower career stage offers a topic this person seeks",
    }


def test_excluded_pairs_are_not_proposed_again() -> None:
    mentor = person("b:m", 2, offers={"apps": 5})
    mentee = person("a:s", 4, seeks={"apps": 5})
    proposals, unmatched = propose([mentor, mentee], ["apps"], {("b:m", "a:s")})
    assert proposals == []
    assert set(unmatched) == {"a:s", "b:m"}
