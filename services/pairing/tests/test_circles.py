"""Circles: every formation respects the sizes, one topic per lead and the one-pair rules;
the optimal one is the best of every formation found by brute force; the stable one has no
senior and open circle that would both rather be together. The checks read the pool
through `check_pair`/`explain`, not through the circle search."""

from __future__ import annotations

from dataclasses import replace
from itertools import product

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from telemachus.pairing.matching import circles
from telemachus.pairing.matching.explain import check_pair, explain
from telemachus.pairing.matching.pool import Pool
from telemachus.pairing.matching.rules import Objective, Rules
from telemachus.pairing.matching.synthetic import synthetic_pool

SENIORS, JUNIORS, TOPICS = 6, 3, 2


def small_pool(seed: int) -> Pool:
    """Six seniors and three juniors on two topics, so brute force can try everything."""
    pool = synthetic_pool(SENIORS, JUNIORS, seed=seed, managers=seed % 2 == 0)
    rng = np.random.default_rng(seed)
    seeks = np.zeros_like(pool.seeks)
    offers = np.zeros_like(pool.offers)
    seeks[:SENIORS, :TOPICS] = np.where(
        rng.random((SENIORS, TOPICS)) < 0.7, rng.integers(1, 6, (SENIORS, TOPICS)), 0
    )
    offers[SENIORS:, :TOPICS] = np.where(
        rng.random((JUNIORS, TOPICS)) < 0.8, rng.integers(1, 6, (JUNIORS, TOPICS)), 0
    )
    availability = pool.availability.copy()
    availability[rng.random(pool.size) < 0.2] = 0  # some shared no hours
    return replace(pool, seeks=seeks, offers=offers, availability=availability)


def one_topic_pool(seed: int, seeks: dict[int, int], offers: dict[int, int]) -> Pool:
    """Only topic 0: rows `seeks` seek it at a priority, rows `offers` offer it at a
    proficiency; seniors at stage 4, juniors at 1, no hours shared, nothing forbidden."""
    pool = small_pool(seed)
    seeking = np.zeros_like(pool.seeks)
    offering = np.zeros_like(pool.offers)
    for row, priority in seeks.items():
        seeking[row, 0] = priority
    for row, proficiency in offers.items():
        offering[row, 0] = proficiency
    return replace(
        pool,
        seeks=seeking,
        offers=offering,
        availability=np.zeros_like(pool.availability),
        forbidden=np.zeros(0, dtype=np.int64),
        stage=np.array([4] * SENIORS + [1] * JUNIORS, dtype=np.int8),
    )


def eligible(pool: Pool, rules: Rules) -> dict[tuple[int, int, int], int]:
    """(lead, member, topic) -> the pair's score, by the one-pair rules."""
    return {
        (lead, member, t): explain(pool, rules, lead, member, t).score
        for lead in range(SENIORS, pool.size)
        for member in range(SENIORS)
        for t in range(TOPICS)
        if pool.offers[lead, t] and pool.seeks[member, t]
        if check_pair(pool, rules, lead, member, t) is None
    }


def placed(formation: circles.Formation, pool: Pool) -> dict[int, tuple[int, int]]:
    """member row -> (lead row, topic column), checking the formation's shape on the way."""
    row, column = pool.index(), {t: k for k, t in enumerate(pool.topics)}
    seen: dict[int, tuple[int, int]] = {}
    leads = [row[c.lead] for c in formation.circles]
    assert len(leads) == len(set(leads)), "a lead leads one circle"
    for c in formation.circles:
        for m in c.members:
            assert row[m.ref] not in seen, "a member joins one circle"
            seen[row[m.ref]] = (row[c.lead], column[c.topic])
    return seen


def brute_force_best(
    options: dict[tuple[int, int, int], int],
    sizes: circles.CircleSizes,
    objective: Objective,
    count_leads: bool = True,
) -> tuple[int, int]:
    """(people placed, total fit) of the best formation, over every choice per senior."""
    per_member = [
        [None, *[(lead, t) for (lead, m, t) in options if m == member]] for member in range(SENIORS)
    ]
    best = (0, 0)
    for choice in product(*per_member):
        circle_of: dict[int, set[int]] = {}
        size: dict[int, int] = {}
        for pick in choice:
            if pick is not None:
                circle_of.setdefault(pick[0], set()).add(pick[1])
                size[pick[0]] = size.get(pick[0], 0) + 1
        if any(len(ts) > 1 for ts in circle_of.values()):
            continue  # a lead on two topics
        if any(not sizes.smallest <= s <= sizes.largest for s in size.values()):
            continue
        count = sum(size.values()) + (len(size) if count_leads else 0)
        fit = sum(options[(p[0], m, p[1])] for m, p in enumerate(choice) if p is not None)
        key = (count, fit) if objective is Objective.MOST_MATCHED else (fit, count)
        best = max(best, key)
    return best if objective is Objective.MOST_MATCHED else (best[1], best[0])


def check_shape(
    formation: circles.Formation,
    pool: Pool,
    options: dict[tuple[int, int, int], int],
    sizes: circles.CircleSizes,
) -> dict[int, tuple[int, int]]:
    seats = placed(formation, pool)
    row = pool.index()
    for c in formation.circles:
        assert sizes.smallest <= len(c.members) <= sizes.largest
        for m in c.members:
            key = (row[c.lead], row[m.ref], pool.topics.index(c.topic))
            assert key in options, f"{m.ref} is not eligible with {c.lead} on {c.topic}"
            assert m.explanation.topic == c.topic
            assert m.explanation.score == options[key]
            assert c.topic in m.why
    return seats


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 100_000),
    smallest=st.sampled_from([1, 2, 3]),
    largest=st.sampled_from([3, 5]),
    objective=st.sampled_from(list(Objective)),
)
def test_the_optimal_formation_is_the_best_one_brute_force_finds(
    seed: int, smallest: int, largest: int, objective: Objective
) -> None:
    pool, rules = small_pool(seed), Rules(objective=objective)
    sizes = circles.CircleSizes(smallest, largest)
    options = eligible(pool, rules)
    formation = circles.form(pool, rules, sizes, "optimal")
    seats = check_shape(formation, pool, options, sizes)
    count = len(seats) + len(formation.circles)
    fit = sum(m.explanation.score for c in formation.circles for m in c.members)
    best_count, best_fit = brute_force_best(options, sizes, objective)
    assert fit == best_fit
    if objective is Objective.MOST_MATCHED:
        assert count == best_count
    for ref, reason in formation.unplaced.items():
        assert pool.index()[ref] not in seats and reason


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 100_000), smallest=st.sampled_from([1, 2, 3]))
def test_the_stable_formation_has_no_senior_and_open_circle_that_would_rather_be_together(
    seed: int, smallest: int
) -> None:
    pool, rules = small_pool(seed), Rules()
    sizes = circles.CircleSizes(smallest, 3)
    options = eligible(pool, rules)
    formation = circles.form(pool, rules, sizes, "stable")
    seats = check_shape(formation, pool, options, sizes)
    row = pool.index()
    for c in formation.circles:
        lead, topic = row[c.lead], pool.topics.index(c.topic)
        held = [options[(lead, row[m.ref], topic)] for m in c.members]
        for member in range(SENIORS):
            if (lead, member, topic) not in options or seats.get(member) == (lead, topic):
                continue
            mine = seats.get(member)
            now = options[(mine[0], member, mine[1])] if mine else -1
            theirs = options[(lead, member, topic)]
            room = len(held) < sizes.largest or theirs > min(held)
            assert not (theirs > now and room), f"p{member} and {c.lead}'s circle block"


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 100_000), smallest=st.sampled_from([1, 2, 3]))
def test_above_the_exact_size_the_circles_opened_are_filled_optimally(
    seed: int, smallest: int
) -> None:
    """The large-program path: topics by demand, then the auction. Its circles are the
    best filling of the circles it opened, on their topics and at its seat count, by
    brute force."""
    pool, rules = small_pool(seed), Rules()
    sizes = circles.CircleSizes(smallest, 3)
    options = eligible(pool, rules)
    formation = circles.form(pool, rules, sizes, "optimal", exact_up_to=0)
    assert formation.engine == circles.ENGINES["assigned"] or not formation.circles
    seats = check_shape(formation, pool, options, sizes)
    row = pool.index()
    opened = {(row[c.lead], pool.topics.index(c.topic)) for c in formation.circles}
    within = {k: v for k, v in options.items() if (k[0], k[2]) in opened}
    fit = sum(m.explanation.score for c in formation.circles for m in c.members)
    # Filled at one seat count for all (the best of those it tried): the largest circle.
    seats_each = max((len(c.members) for c in formation.circles), default=1)
    best = brute_force_best(within, circles.CircleSizes(1, seats_each), rules.objective, False)
    assert (len(seats), fit) == best


def test_a_circle_that_cannot_reach_its_smallest_size_does_not_form() -> None:
    """Two seniors, one junior: with three as the smallest size no circle forms, and both
    are told why; with two it forms with both."""
    pool = one_topic_pool(3, {0: 3, 1: 3}, {SENIORS: 4})
    for mode in ("optimal", "stable"):
        none = circles.form(pool, Rules(), circles.CircleSizes(3, 5), mode)
        assert none.circles == []
        assert set(none.unplaced) == {"p0", "p1", f"p{SENIORS}"}
        two = circles.form(pool, Rules(), circles.CircleSizes(2, 5), mode)
        assert [(c.lead, sorted(m.ref for m in c.members)) for c in two.circles] == [
            (f"p{SENIORS}", ["p0", "p1"])
        ]


def test_a_stable_round_follows_what_seniors_ranked_and_says_so() -> None:
    """p0 ranks the weaker lead first; that lead has room, so p0 joins that circle, and
    the explanation gives p0's own ranking, not the fit."""
    pool = one_topic_pool(5, {0: 4, 1: 4, 2: 4}, {SENIORS: 5, SENIORS + 1: 1})
    pool = replace(pool, capacity=np.ones(pool.size, dtype=np.int32))
    weak, strong = f"p{SENIORS + 1}", f"p{SENIORS}"
    formation = circles.form(
        pool, Rules(), circles.CircleSizes(1, 3), "stable", {"p0": [weak, strong]}
    )
    seat = {m.ref: (c.lead, m.why) for c in formation.circles for m in c.members}
    assert seat["p0"][0] == weak and "You ranked this lead first." in seat["p0"][1]
    assert seat["p1"][0] == strong and "fits you best" in seat["p1"][1]
