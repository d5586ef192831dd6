"""Candidate lists: each mentee's list holds the best-scoring eligible mentors, whatever the
search leaves unread. Checked against the one-pair rules and scores (`check_pair`,
`explain`), pair by pair, and against the plain scan of every row, on pools whose buckets
span several 64-row words."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from telemachus.pairing.matching import candidates
from telemachus.pairing.matching.explain import check_pair, explain
from telemachus.pairing.matching.pool import Pool
from telemachus.pairing.matching.rules import Rules, Weights
from telemachus.pairing.matching.synthetic import synthetic_pool

MENTEES, MENTORS = 40, 500


def crowded_pool(seed: int) -> Pool:
    """Mentors offering the same two topics at one proficiency, so each bucket (topic,
    stage, proficiency) holds ~80-250 rows; some people shared no availability."""
    pool = synthetic_pool(MENTEES, MENTORS, seed=seed)
    rng = np.random.default_rng(seed)
    offers = np.zeros_like(pool.offers)
    offers[MENTEES:, 0] = 3
    offers[MENTEES:, 1] = np.where(rng.random(MENTORS) < 0.5, 3, 0)
    seeks = np.zeros_like(pool.seeks)
    seeks[:MENTEES, 0] = rng.integers(1, 6, size=MENTEES)
    seeks[:MENTEES, 1] = np.where(rng.random(MENTEES) < 0.5, rng.integers(1, 6, MENTEES), 0)
    availability = pool.availability.copy()
    availability[rng.random(pool.size) < 0.1] = 0
    return replace(pool, offers=offers, seeks=seeks, availability=availability)


def best_scores(pool: Pool, rules: Rules, mentee: int, k: int) -> list[int]:
    """The k best scores among eligible mentors, each at its best topic, by brute force."""
    best: list[int] = []
    for mentor in range(MENTEES, pool.size):
        scores = [
            explain(pool, rules, mentor, mentee, t).score
            for t in range(len(pool.topics))
            if pool.offers[mentor, t] and pool.seeks[mentee, t]
            if check_pair(pool, rules, mentor, mentee, t) is None
        ]
        if scores:
            best.append(max(scores))
    return sorted(best, reverse=True)[:k]


@settings(max_examples=8, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    min_overlap=st.sampled_from([0, 1, 3]),
    availability=st.sampled_from([0, 1, 3]),
    cap=st.sampled_from([2, 8, 20]),  # 20: more hours than the bit-sliced count tells apart
    equal_stage=st.booleans(),
    same_department=st.booleans(),
    k=st.sampled_from([5, 40]),
)
def test_each_list_holds_the_best_eligible_mentors(
    seed: int,
    min_overlap: int,
    availability: int,
    cap: int,
    equal_stage: bool,
    same_department: bool,
    k: int,
) -> None:
    pool = crowded_pool(seed)
    rules = Rules(
        weights=Weights(availability=availability, availability_cap=cap),
        min_overlap_hours=min_overlap,
        allow_equal_stage_across_professions=equal_stage,
        exclude_same_department=same_department,
        candidates_per_mentee=k,
        candidates_per_mentor=3,
    )
    graph = candidates.generate(pool, rules)
    # Rows the search leaves unread change nothing: the plain scan gives the same graph.
    plain = candidates.generate(pool, rules, every_row=True)
    for name in ("mentees", "start", "mentor", "topic", "score", "mentor_capacity"):
        assert np.array_equal(getattr(graph, name), getattr(plain, name)), name
    listed = {int(m): k for k, m in enumerate(graph.mentees)}
    for mentee in range(0, MENTEES, 3):
        expected = best_scores(pool, rules, mentee, k)
        if mentee not in listed:
            assert expected == [], "a mentee with eligible mentors has a list"
            continue
        mentors, _, scores = graph.of(listed[mentee])
        assert len(set(mentors.tolist())) == len(mentors), "one edge per mentor"
        assert sorted(scores.tolist(), reverse=True)[: len(expected)] == expected
