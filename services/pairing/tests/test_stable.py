"""Ranked mode: deferred acceptance leaves no blocking pair, and is proposer-optimal."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from telemachus.pairing.matching.stable import Proposers, Rankings, blocking_pairs, stable_matching


def random_rankings(
    seed: int, mentees: int, mentors: int, max_capacity: int, length: int
) -> Rankings:
    rng = np.random.default_rng(seed)
    mentee_lists = [
        list(rng.choice(mentors, size=min(length, mentors), replace=False)) for _ in range(mentees)
    ]
    mentor_lists = [
        list(rng.choice(mentees, size=min(length, mentees), replace=False)) for _ in range(mentors)
    ]
    return Rankings(
        mentee_start=np.cumsum([0] + [len(x) for x in mentee_lists]).astype(np.int64),
        mentee_list=np.array([j for x in mentee_lists for j in x], dtype=np.int32),
        mentor_start=np.cumsum([0] + [len(x) for x in mentor_lists]).astype(np.int64),
        mentor_list=np.array([i for x in mentor_lists for i in x], dtype=np.int32),
        capacity=rng.integers(1, max_capacity + 1, size=mentors).astype(np.int32),
    )


def valid(r: Rankings, partner: np.ndarray) -> bool:
    """Capacities kept, and every pair acceptable to both sides."""
    load = np.bincount(partner[partner >= 0], minlength=r.mentors)
    if (load > r.capacity).any():
        return False
    for i, j in enumerate(partner):
        if j < 0:
            continue
        if j not in r.mentee_list[r.mentee_start[i] : r.mentee_start[i + 1]]:
            return False
        if i not in r.mentor_list[r.mentor_start[j] : r.mentor_start[j + 1]]:
            return False
    return True


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 100_000),
    mentees=st.integers(1, 60),
    mentors=st.integers(1, 30),
    capacity=st.integers(1, 4),
    length=st.integers(1, 12),
    proposers=st.sampled_from(list(Proposers)),
)
def test_no_blocking_pair_on_random_instances(
    seed: int, mentees: int, mentors: int, capacity: int, length: int, proposers: Proposers
) -> None:
    r = random_rankings(seed, mentees, mentors, capacity, length)
    partner = stable_matching(r, proposers)
    assert valid(r, partner)
    assert blocking_pairs(r, partner) == []


def all_stable_matchings(r: Rankings) -> list[tuple[int, ...]]:
    """Every valid stable matching, by enumerating all assignments (tiny instances)."""
    options = [
        [-1, *[int(j) for j in r.mentee_list[r.mentee_start[i] : r.mentee_start[i + 1]]]]
        for i in range(r.mentees)
    ]
    found = []
    for choice in itertools.product(*options):
        partner = np.array(choice, dtype=np.int64)
        if valid(r, partner) and not blocking_pairs(r, partner, limit=1):
            found.append(choice)
    return found


def rank(lst: np.ndarray, x: int) -> int:
    return list(lst).index(x) if x >= 0 else len(lst)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 100_000), mentees=st.integers(1, 5), mentors=st.integers(1, 3))
def test_small_instances_match_brute_force(seed: int, mentees: int, mentors: int) -> None:
    r = random_rankings(seed, mentees, mentors, max_capacity=2, length=3)
    stable = all_stable_matchings(r)
    assert stable, "a stable matching always exists"
    ours = tuple(int(j) for j in stable_matching(r, Proposers.MENTEES))
    assert ours in stable
    for i in range(r.mentees):  # mentee-optimal: nobody does better in any stable matching
        mine = r.mentee_list[r.mentee_start[i] : r.mentee_start[i + 1]]
        assert rank(mine, ours[i]) == min(rank(mine, s[i]) for s in stable)
    theirs = tuple(int(j) for j in stable_matching(r, Proposers.MENTORS))
    assert theirs in stable
    for i in range(r.mentees):  # ... and mentor-optimal is mentee-pessimal
        mine = r.mentee_list[r.mentee_start[i] : r.mentee_start[i + 1]]
        assert rank(mine, theirs[i]) == max(rank(mine, s[i]) for s in stable)
