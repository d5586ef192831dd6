"""Assigned mode: optimal on the candidate graph, checked against an exact solver."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from telemachus.pairing.matching import assignment, candidates
from telemachus.pairing.matching.candidates import CandidateGraph
from telemachus.pairing.matching.explain import check_pair
from telemachus.pairing.matching.rules import Objective, Rules
from telemachus.pairing.matching.synthetic import synthetic_pool

FORBIDDEN = 10**15


def exact_optimum(graph: CandidateGraph, objective: Objective) -> tuple[int, int]:
    """(mentees matched, total score) by the Hungarian method on the dense matrix of
    mentees x (mentor places + one 'unmatched' column per mentee)."""
    m = len(graph.mentees)
    places = [j for j in range(graph.mentor_capacity.size) for _ in range(graph.mentor_capacity[j])]
    weight = assignment.lexicographic_weight(graph.score, m, objective)
    cost = np.full((m, len(places) + m), FORBIDDEN, dtype=np.int64)
    column_of: dict[int, list[int]] = {}
    for c, j in enumerate(places):
        column_of.setdefault(j, []).append(c)
    for k in range(m):
        cost[k, len(places) + k] = 0
        for e in range(graph.start[k], graph.start[k + 1]):
            for c in column_of.get(int(graph.mentor[e]), []):
                cost[k, c] = -int(weight[e])
    rows, cols = linear_sum_assignment(cost)
    matched = score = 0
    for k, c in zip(rows, cols, strict=True):
        if c < len(places):
            assert cost[k, c] < FORBIDDEN
            matched += 1
            edge = next(
                e for e in range(graph.start[k], graph.start[k + 1]) if graph.mentor[e] == places[c]
            )
            score += int(graph.score[edge])
    return matched, score


def check_result(graph: CandidateGraph, result: assignment.Assignment) -> tuple[int, int]:
    load = np.zeros(graph.mentor_capacity.size, dtype=np.int64)
    score = 0
    for k, j in enumerate(result.mentor_of):
        if j < 0:
            continue
        e = int(result.edge_of[k])
        assert graph.start[k] <= e < graph.start[k + 1], "only candidate edges are used"
        assert graph.mentor[e] == j
        load[j] += 1
        score += int(graph.score[e])
    assert (load <= graph.mentor_capacity).all(), "no mentor above capacity"
    return result.matched, score


@settings(max_examples=40, deadline=None)
@given(
    mentees=st.integers(3, 40),
    mentors=st.integers(2, 25),
    seed=st.integers(0, 10_000),
    capacity=st.integers(1, 3),
    objective=st.sampled_from(list(Objective)),
)
def test_the_assignment_is_as_good_as_an_exact_solver(
    mentees: int, mentors: int, seed: int, capacity: int, objective: Objective
) -> None:
    pool = synthetic_pool(mentees, mentors, seed=seed, max_capacity=capacity)
    graph = candidates.generate(pool, Rules(candidates_per_mentee=8, candidates_per_mentor=3))
    result = assignment.solve(graph, objective)
    ours = check_result(graph, result)
    best = exact_optimum(graph, objective)
    if objective is Objective.MOST_MATCHED:
        assert ours == best
    else:
        assert ours[1] == best[1]


def test_every_candidate_pair_obeys_the_rules() -> None:
    pool = synthetic_pool(200, 100, seed=11)
    rules = Rules()
    graph = candidates.generate(pool, rules)
    assert graph.edges > 0
    for k, mentee in enumerate(graph.mentees):
        for j, t, s in zip(*graph.of(k), strict=True):
            assert check_pair(pool, rules, int(j), int(mentee), int(t)) is None
            assert s > 0


def test_a_pinned_pair_stays_and_the_rest_is_optimal_around_it() -> None:
    pool = synthetic_pool(30, 15, seed=5)
    graph = candidates.generate(pool, Rules(candidates_per_mentee=6))
    k = 0
    worst_mentor = int(graph.mentor[graph.start[k + 1] - 1])  # its weakest candidate
    result = assignment.solve(graph, pinned={k: worst_mentor})
    assert result.mentor_of[k] == worst_mentor
    load = np.bincount(result.mentor_of[result.mentor_of >= 0], minlength=pool.size)
    assert (load <= graph.mentor_capacity).all()
