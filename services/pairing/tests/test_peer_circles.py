"""Peer circles: every circle formed is valid by the rules, read through `check_pair` and
`explain` one pair at a time (not through the candidate search); the exact formation is
the best of every formation brute force finds; the large-program growth never claims more
than that best and keeps every circle valid."""

from __future__ import annotations

from dataclasses import replace
from itertools import combinations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from telemachus.pairing.matching import peer_circles
from telemachus.pairing.matching.availability import WORDS
from telemachus.pairing.matching.explain import check_pair, explain
from telemachus.pairing.matching.pool import Pool
from telemachus.pairing.matching.rules import Objective, Rules
from telemachus.pairing.matching.synthetic import synthetic_peer_pool, synthetic_pool

Pair = tuple[int, int]


def small_peer_pool(seed: int, people: int = 7) -> Pool:
    """`people` at random stages, each offering and seeking some of three topics; some
    share no hours, the rest are free on overlapping blocks."""
    rng = np.random.default_rng(seed)
    pool = synthetic_pool(people // 2, people - people // 2, seed=seed, managers=seed % 2 == 0)
    topics = 3
    offers = np.zeros_like(pool.offers)
    seeks = np.zeros_like(pool.seeks)
    offers[:, :topics] = np.where(
        rng.random((people, topics)) < 0.45, rng.integers(1, 6, (people, topics)), 0
    )
    seeks[:, :topics] = np.where(
        (rng.random((people, topics)) < 0.5) & (offers[:, :topics] == 0),
        rng.integers(1, 6, (people, topics)),
        0,
    )
    availability = np.zeros((people, WORDS), dtype=np.uint64)
    for p in range(people):
        if rng.random() < 0.8:  # a block of 16 half-hours starting in one of 3 places
            first = int(rng.integers(0, 3)) * 6
            for h in range(first, first + 16):
                availability[p, h // 64] |= np.uint64(1) << np.uint64(h % 64)
    return replace(
        pool,
        stage=rng.integers(1, 6, size=people).astype(np.int8),
        offers=offers,
        seeks=seeks,
        availability=availability,
        capacity=np.ones(people, dtype=np.int32),
    )


def links_by_rules(pool: Pool, rules: Rules) -> dict[Pair, tuple[int, bool]]:
    """(teacher, learner) -> (best score, reverse?): a reverse link passes the pair rules;
    a boomerang link passes them with every career stage turned over."""
    over = replace(pool, stage=np.where(pool.stage > 0, 6 - pool.stage, 0).astype(np.int8))
    found: dict[Pair, tuple[int, bool]] = {}
    for a in range(pool.size):
        for b in range(pool.size):
            for t in range(len(pool.topics)):
                for reverse, seen_as in ((True, pool), (False, over)):
                    if a != b and check_pair(seen_as, rules, a, b, t) is None:
                        score = explain(pool, rules, a, b, t).score
                        found[(a, b)] = max(found.get((a, b), (-1, False)), (score, reverse))
    return found


def circle_fit(
    pool: Pool,
    rules: Rules,
    links: dict[Pair, tuple[int, bool]],
    group: tuple[int, ...],
    sizes: peer_circles.PeerSizes,
) -> int | None:
    """The group's fit if it is a valid peer circle, else None."""
    if not sizes.smallest <= len(group) <= sizes.largest:
        return None
    inside = [(a, b) for a in group for b in group if (a, b) in links]
    fit = 0
    for m in group:
        lessons = [links[(a, b)][0] for a, b in inside if b == m]
        if not lessons or not any(a == m for a, _ in inside):
            return None
        fit += max(lessons)
    reached = {group[0]}
    for _ in group:
        reached |= {b for a, b in inside if a in reached} | {a for a, b in inside if b in reached}
    if len(reached) != len(group):
        return None
    shared = [pool.availability[m] for m in group if pool.availability[m].any()]
    if len(shared) >= 2:
        common = np.bitwise_and.reduce(np.array(shared), axis=0)
        if int(np.bitwise_count(common).sum()) < rules.min_overlap_hours * 2:
            return None
    # Implied by the rest: the member at the lowest stage teaches upward.
    assert any(links[p][1] for p in inside), "no junior teaches a senior"
    return fit


def brute_force_best(
    pool: Pool,
    rules: Rules,
    links: dict[Pair, tuple[int, bool]],
    sizes: peer_circles.PeerSizes,
) -> tuple[int, int]:
    """(people placed, total fit) of the best set of disjoint valid circles, by trying
    every one: the lowest person left either stays out or sits with some of the rest."""
    valid: dict[tuple[int, ...], int] = {}
    for size in range(sizes.smallest, sizes.largest + 1):
        for group in combinations(range(pool.size), size):
            fit = circle_fit(pool, rules, links, group, sizes)
            if fit is not None:
                valid[group] = fit
    most = rules.objective is Objective.MOST_MATCHED

    def best(left: frozenset[int]) -> tuple[int, int]:
        if not left:
            return (0, 0)
        first = min(left)
        top = best(left - {first})
        for group, fit in valid.items():
            if group[0] == first and left.issuperset(group):
                placed, total = best(left - set(group))
                mine = (placed + len(group), total + fit)
                top = max(top, mine, key=lambda k: k if most else (k[1], k[0]))
        return top

    return best(frozenset(range(pool.size)))


def checked(
    formation: peer_circles.PeerFormation,
    pool: Pool,
    rules: Rules,
    links: dict[Pair, tuple[int, bool]],
    sizes: peer_circles.PeerSizes,
) -> tuple[int, int]:
    """(placed, fit) of a formation, asserting each circle is valid and explained."""
    row = pool.index()
    seen: set[int] = set()
    fit = 0
    for circle in formation.circles:
        group = tuple(sorted(row[m.ref] for m in circle.members))
        assert not seen & set(group), "a person sits in one peer circle"
        seen |= set(group)
        own = circle_fit(pool, rules, links, group, sizes)
        assert own is not None, f"{group} is not a valid peer circle"
        fit += own
        for m in circle.members:
            teacher, learner = row[m.learns_from], row[m.ref]
            assert m.learns.score == links[(teacher, learner)][0]
            assert m.learns_from in m.why and m.learns.topic in m.why
            assert m.teaches and all((learner, row[ref]) in links for ref, _ in m.teaches)
    assert not seen & {row[ref] for ref in formation.unplaced}
    assert all(formation.unplaced.values())
    return len(seen), fit


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 100_000),
    smallest=st.sampled_from([2, 3]),
    largest=st.sampled_from([3, 4]),
    objective=st.sampled_from(list(Objective)),
)
def test_the_exact_formation_is_the_best_one_brute_force_finds(
    seed: int, smallest: int, largest: int, objective: Objective
) -> None:
    pool, rules = small_peer_pool(seed), Rules(objective=objective)
    sizes = peer_circles.PeerSizes(smallest, largest)
    links = links_by_rules(pool, rules)
    formation = peer_circles.form(pool, rules, sizes)
    assert formation.engine == peer_circles.ENGINES["exact"]
    placed, fit = checked(formation, pool, rules, links, sizes)
    best_placed, best_fit = brute_force_best(pool, rules, links, sizes)
    assert fit == best_fit
    if objective is Objective.MOST_MATCHED:
        assert placed == best_placed


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 100_000))
def test_circles_grown_for_large_programs_are_valid_and_never_beat_the_proven_best(
    seed: int,
) -> None:
    pool, rules = small_peer_pool(seed, people=8), Rules()
    sizes = peer_circles.PeerSizes(3, 4)
    links = links_by_rules(pool, rules)
    formation = peer_circles.form(pool, rules, sizes, exact_up_to=-1)
    assert formation.engine == peer_circles.ENGINES["growth"]
    assert checked(formation, pool, rules, links, sizes) <= brute_force_best(
        pool, rules, links, sizes
    )


def test_every_circle_of_a_large_program_keeps_the_rules() -> None:
    """300 people: each grown circle is checked pair by pair against the rules."""
    pool, rules = synthetic_peer_pool(180, 120, seed=11), Rules()
    sizes = peer_circles.PeerSizes()
    formation = peer_circles.form(pool, rules, sizes)
    assert formation.engine == peer_circles.ENGINES["growth"]
    row = pool.index()
    groups = [tuple(sorted(row[m.ref] for m in c.members)) for c in formation.circles]
    assert len(groups) >= 20
    people = sorted({p for g in groups for p in g})
    sub = {p: k for k, p in enumerate(people)}
    # Pair rules only between people who sit together: rows renumbered into a small pool.
    small = _rows(pool, people)
    links = links_by_rules(small, rules)
    for g in groups:
        assert circle_fit(small, rules, links, tuple(sub[p] for p in g), sizes) is not None


def _rows(pool: Pool, rows: list[int]) -> Pool:
    keep = np.array(rows)
    n, code = pool.size, pool.forbidden
    mentor, mentee = code // n, code % n
    where = {p: k for k, p in enumerate(rows)}
    kept = [
        where[int(a)] * len(rows) + where[int(b)]
        for a, b in zip(mentor, mentee, strict=True)
        if int(a) in where and int(b) in where
    ]
    return replace(
        pool,
        refs=[pool.refs[p] for p in rows],
        stage=pool.stage[keep],
        profession=pool.profession[keep],
        institution=pool.institution[keep],
        department=pool.department[keep],
        languages=pool.languages[keep],
        availability=pool.availability[keep],
        offers=pool.offers[keep],
        seeks=pool.seeks[keep],
        capacity=pool.capacity[keep],
        forbidden=np.unique(np.array(kept, dtype=np.int64)),
    )


def three_people(senior_hours: tuple[int, int]) -> Pool:
    """A junior (p2) who offers apps and seeks literature searching; two seniors who seek
    apps and offer literature searching. The junior is free half-hours 0-15; p0 from
    `senior_hours[0]`, p1 from `senior_hours[1]`, eight half-hours each."""
    pool = synthetic_pool(2, 1, seed=5, managers=False)
    apps, searching = 1, 2
    offers = np.zeros_like(pool.offers)
    seeks = np.zeros_like(pool.seeks)
    seeks[0, apps] = seeks[1, apps] = 4
    offers[0, searching] = offers[1, searching] = 5
    offers[2, apps], seeks[2, searching] = 4, 3
    availability = np.zeros((3, WORDS), dtype=np.uint64)
    for p, first in ((0, senior_hours[0]), (1, senior_hours[1]), (2, 0)):
        for h in range(first, first + (16 if p == 2 else 8)):
            availability[p, h // 64] |= np.uint64(1) << np.uint64(h % 64)
    return replace(
        pool,
        stage=np.array([4, 4, 1], dtype=np.int8),
        offers=offers,
        seeks=seeks,
        availability=availability,
        capacity=np.ones(3, dtype=np.int32),
    )


def test_a_circle_forms_only_when_all_its_members_can_meet_together() -> None:
    sizes = peer_circles.PeerSizes(3, 4)
    together = peer_circles.form(three_people((0, 4)), Rules(), sizes)
    [circle] = together.circles
    assert circle.common_hours == 2  # half-hours 4-7, when all three are free
    why = {m.ref: m.why for m in circle.members}
    assert why["p2"].startswith("You learn literature-searching from p")
    assert why["p2"].endswith("teach apps to p0; apps to p1.")
    assert "at least one junior teaches a senior" in circle.why
    # Each senior shares 4 h with the junior, but the seniors never overlap.
    apart = peer_circles.form(three_people((0, 8)), Rules(), sizes)
    assert apart.circles == []
    assert set(apart.unplaced) == {"p0", "p1", "p2"}
    assert "no hours when all are free" in apart.unplaced["p0"]


def test_people_who_only_learn_or_only_teach_are_told_why_they_have_no_circle() -> None:
    pool = three_people((0, 4))
    pool = replace(pool, offers=pool.offers * np.array([[1], [0], [1]], dtype=np.int8))
    formation = peer_circles.form(pool, Rules(), peer_circles.PeerSizes(2, 3))
    assert "they do not offer a topic" in formation.unplaced["p1"]
    # p0 and the junior still teach each other: a circle of two.
    assert [sorted(m.ref for m in c.members) for c in formation.circles] == [["p0", "p2"]]


def blocking(
    formation: peer_circles.PeerFormation,
    pool: Pool,
    rules: Rules,
    links: dict[Pair, tuple[int, bool]],
    sizes: peer_circles.PeerSizes,
) -> list[tuple[str, int]]:
    """(person, circle index) that would both rather be together: the person learns better
    there than now (or is in no circle), someone there learns better from them, the
    circle with them is valid, and the circle they leave stays valid with no one in it
    learning less."""
    row = pool.index()
    groups = [{row[m.ref] for m in c.members} for c in formation.circles]

    def lesson(m: int, group: set[int]) -> int:
        return max((links[(t, m)][0] for t in group if (t, m) in links), default=-1)

    found = []
    for p in range(pool.size):
        own = next((g for g in groups if p in g), None)
        if own is not None:
            rest = own - {p}
            if circle_fit(pool, rules, links, tuple(sorted(rest)), sizes) is None or any(
                lesson(m, rest) != lesson(m, own) for m in rest
            ):
                continue
        now = -1 if own is None else lesson(p, own)
        for k, group in enumerate(groups):
            if p in group or len(group) >= sizes.largest or lesson(p, group) <= now:
                continue
            joined = tuple(sorted(group | {p}))
            if circle_fit(pool, rules, links, joined, sizes) is None:
                continue
            if any((p, m) in links and links[(p, m)][0] > lesson(m, group) for m in group):
                found.append((pool.refs[p], k))
    return found


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 100_000), smallest=st.sampled_from([2, 3]))
def test_the_stable_formation_has_no_person_and_circle_that_would_rather_be_together(
    seed: int, smallest: int
) -> None:
    pool, rules = small_peer_pool(seed, people=8), Rules()
    sizes = peer_circles.PeerSizes(smallest, 4)
    links = links_by_rules(pool, rules)
    formation = peer_circles.form(pool, rules, sizes, "stable")
    assert formation.engine == peer_circles.ENGINES["stable"]
    checked(formation, pool, rules, links, sizes)
    assert blocking(formation, pool, rules, links, sizes) == []


def test_a_grown_formation_settles_with_no_blocking_person_and_circle() -> None:
    """40 people, above the exact size: grown (where one person and circle would both
    rather be together), then settled."""
    pool, rules = small_peer_pool(1, people=40), Rules()
    sizes = peer_circles.PeerSizes(3, 5)
    links = links_by_rules(pool, rules)
    grown = peer_circles.form(pool, rules, sizes, exact_up_to=-1)
    settled = peer_circles.form(pool, rules, sizes, "stable", exact_up_to=-1)
    assert len(settled.circles) >= 3
    assert blocking(grown, pool, rules, links, sizes) != []
    checked(settled, pool, rules, links, sizes)
    assert blocking(settled, pool, rules, links, sizes) == []
    # Settling only ever raises lessons: no one placed before is left out after.
    placed = {m.ref for c in grown.circles for m in c.members}
    assert placed <= {m.ref for c in settled.circles for m in c.members}
