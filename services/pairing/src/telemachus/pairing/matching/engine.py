"""A round's matching: candidate graph, then the program's mode, then explanations.

Pure: arrays and plain values in, proposals and reasons out. The service layer turns
stored candidates into a `Pool` and proposals into `Pairing` aggregates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from telemachus.pairing.matching import assignment, candidates, stable

# best_topic and PinRefused live beside the explanations, where numba is not imported;
# named here too, as the engine's own.
from telemachus.pairing.matching.explain import (
    Explanation,
    PinRefused,
    best_topic,
    explain,
    why_unmatched,
)
from telemachus.pairing.matching.pool import Pool
from telemachus.pairing.matching.rules import Rules
from telemachus.shared.contracts.vocabulary import PairingMode

ENGINES = {
    PairingMode.ASSIGNED: "auction-optimal-v1",
    PairingMode.RANKED: "deferred-acceptance-v1",
    PairingMode.MIXED: "mutual-first-then-optimal-v1",
}


@dataclass(frozen=True)
class Proposal:
    mentor: str
    mentee: str
    explanation: Explanation
    pinned: bool = False


@dataclass
class Outcome:
    engine: str
    proposals: list[Proposal]
    unmatched: dict[str, str]  # ref -> reason
    stats: dict[str, int] = field(default_factory=dict)


def _pins(pool: Pool, rules: Rules, pins: Sequence[tuple[str, str]]) -> dict[int, tuple[int, int]]:
    """mentee row -> (mentor row, topic), every pin checked against the rules."""
    row = pool.index()
    chosen: dict[int, tuple[int, int]] = {}
    load: dict[int, int] = {}
    for mentor_ref, mentee_ref in pins:
        if mentor_ref not in row or mentee_ref not in row:
            missing = mentor_ref if mentor_ref not in row else mentee_ref
            raise PinRefused(f"{missing} is not in this round's pool")
        mentor, mentee = row[mentor_ref], row[mentee_ref]
        topic, refused = best_topic(pool, rules, mentor, mentee)
        if refused is not None:
            raise PinRefused(f"{mentor_ref} cannot mentor {mentee_ref}: {refused}")
        if mentee in chosen:
            raise PinRefused(f"{mentee_ref} is pinned twice")
        load[mentor] = load.get(mentor, 0) + 1
        if load[mentor] > pool.capacity[mentor]:
            raise PinRefused(f"{mentor_ref} has no place left for another pinned pair")
        chosen[mentee] = (mentor, topic)
    return chosen


def _rankings(
    pool: Pool,
    graph: candidates.CandidateGraph,
    capacity: np.ndarray,
    ranked: Mapping[str, Sequence[str]],
) -> tuple[stable.Rankings, np.ndarray, np.ndarray]:
    """Preference lists over dense ids. A person who did not rank is ranked for by score
    over their candidates; a ranked name who is not an eligible candidate is dropped."""
    m = len(graph.mentees)
    mentor_rows = np.flatnonzero(capacity > 0)
    mentor_id = np.full(pool.size, -1, dtype=np.int64)
    mentor_id[mentor_rows] = np.arange(mentor_rows.size)
    mentee_id = np.full(pool.size, -1, dtype=np.int64)
    mentee_id[graph.mentees] = np.arange(m)
    row = pool.index()
    eligible: set[tuple[int, int]] = set()
    mentee_lists: list[list[int]] = []
    for k in range(m):
        mentors, _, _ = graph.of(k)
        ids = [int(mentor_id[j]) for j in mentors if mentor_id[j] >= 0]
        eligible.update((k, j) for j in ids)
        mentee_lists.append(ids)
    # Mentors' default lists: the mentees whose candidates they are, best score first.
    by_mentor: list[list[tuple[int, int]]] = [[] for _ in range(mentor_rows.size)]
    for k in range(m):
        mentors, _, scores = graph.of(k)
        for j, s in zip(mentors, scores, strict=True):
            if mentor_id[j] >= 0:
                by_mentor[int(mentor_id[j])].append((-int(s), k))
    mentor_lists = [[k for _, k in sorted(entries)] for entries in by_mentor]
    for ref, names in ranked.items():
        if ref not in row:
            continue
        r = row[ref]
        if mentee_id[r] >= 0:
            k = int(mentee_id[r])
            wanted = [int(mentor_id[row[x]]) for x in names if x in row]
            mentee_lists[k] = [j for j in wanted if (k, j) in eligible]
        if mentor_id[r] >= 0:
            j = int(mentor_id[r])
            wanted = [int(mentee_id[row[x]]) for x in names if x in row]
            mentor_lists[j] = [k for k in wanted if (k, j) in eligible]
    return (
        stable.Rankings(
            mentee_start=_offsets(mentee_lists),
            mentee_list=np.array([j for lst in mentee_lists for j in lst], dtype=np.int32),
            mentor_start=_offsets(mentor_lists),
            mentor_list=np.array([k for lst in mentor_lists for k in lst], dtype=np.int32),
            capacity=capacity[mentor_rows].astype(np.int32),
        ),
        mentor_rows,
        mentor_id,
    )


def _edge(graph: candidates.CandidateGraph, k: int, mentor: int) -> int:
    """The candidate edge of mentee index k to a mentor row (rankings use only these)."""
    mentors, _, _ = graph.of(k)
    return int(graph.start[k]) + int(np.flatnonzero(mentors == mentor)[0])


def _offsets(lists: list[list[int]]) -> np.ndarray:
    starts = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum([len(x) for x in lists], out=starts[1:])
    return starts


def run_round(
    pool: Pool,
    rules: Rules,
    mode: PairingMode,
    *,
    pins: Sequence[tuple[str, str]] = (),
    rankings: Mapping[str, Sequence[str]] | None = None,
    proposers: stable.Proposers = stable.Proposers.MENTEES,
) -> Outcome:
    pinned = _pins(pool, rules, pins)
    capacity_left = pool.capacity.copy()
    for mentor, _ in pinned.values():
        capacity_left[mentor] -= 1
    for mentee in pinned:
        capacity_left[mentee] -= 1
    # Pinned people take no further part beyond their remaining places.
    free_pool = replace(pool, capacity=np.maximum(capacity_left, 0))
    graph = candidates.generate(free_pool, rules)
    chosen: dict[int, int] = {}  # mentee row -> candidate edge (its mentor and best topic)
    if mode is PairingMode.ASSIGNED:
        result = assignment.solve(graph, rules.objective)
        chosen = {int(graph.mentees[k]): int(e) for k, e in enumerate(result.edge_of) if e >= 0}
    else:
        ranked, mentor_rows, _ = _rankings(pool, graph, graph.mentor_capacity, rankings or {})
        if mode is PairingMode.RANKED:
            partner = stable.stable_matching(ranked, proposers)
            chosen = {
                int(graph.mentees[k]): _edge(graph, k, int(mentor_rows[j]))
                for k, j in enumerate(partner)
                if j >= 0
            }
        else:
            chosen = _mixed(graph, ranked, mentor_rows, rules)
    proposals = [
        Proposal(
            pool.refs[mentor], pool.refs[mentee], explain(pool, rules, mentor, mentee, t), True
        )
        for mentee, (mentor, t) in pinned.items()
    ]
    for mentee, e in chosen.items():
        mentor, topic = int(graph.mentor[e]), int(graph.topic[e])
        proposals.append(
            Proposal(
                pool.refs[mentor], pool.refs[mentee], explain(pool, rules, mentor, mentee, topic)
            )
        )
    return Outcome(
        engine=ENGINES[mode],
        proposals=proposals,
        unmatched=_unmatched(free_pool, rules, graph, proposals, mode),
        stats={"candidates": graph.edges, "mentees": len(graph.mentees)},
    )


def _mixed(
    graph: candidates.CandidateGraph,
    ranked: stable.Rankings,
    mentor_rows: np.ndarray,
    rules: Rules,
) -> dict[int, int]:
    """Mutual first choices are fixed; the rest is the optimal assignment around them.

    A mentee's first choice is mutual when that mentor ranks the mentee among their
    first `capacity` choices (a mentor with k places has k first choices)."""
    fixed: dict[int, int] = {}  # mentee index -> pool row
    load = np.zeros(len(mentor_rows), dtype=np.int64)
    for k in range(ranked.mentees):
        first = ranked.mentee_list[ranked.mentee_start[k] : ranked.mentee_start[k + 1]]
        if first.size == 0:
            continue
        j = int(first[0])
        tops = ranked.mentor_list[
            ranked.mentor_start[j] : ranked.mentor_start[j] + ranked.capacity[j]
        ]
        if k in tops and load[j] < ranked.capacity[j]:
            fixed[k] = int(mentor_rows[j])
            load[j] += 1
    result = assignment.solve(graph, rules.objective, pinned=fixed)
    return {int(graph.mentees[k]): int(e) for k, e in enumerate(result.edge_of) if e >= 0}


OUTCOMPETED = {
    PairingMode.ASSIGNED: "eligible partners exist, but the optimal matching gave their "
    "places to pairs that fit better",
    PairingMode.RANKED: "no one this person ranked, and who ranked them, had a place left "
    "for them in the stable matching",
    PairingMode.MIXED: "eligible partners exist, but mutual first choices and the optimal "
    "matching gave their places to other pairs",
}


def _unmatched(
    pool: Pool,
    rules: Rules,
    graph: candidates.CandidateGraph,
    proposals: list[Proposal],
    mode: PairingMode,
) -> dict[str, str]:
    paired: dict[str, int] = {}
    for p in proposals:
        paired[p.mentor] = paired.get(p.mentor, 0) + 1
        paired[p.mentee] = paired.get(p.mentee, 0) + 1
    mentee_edges = np.diff(graph.start)
    listed = np.bincount(graph.mentor, minlength=pool.size)
    has_edges = np.zeros(pool.size, dtype=bool)
    has_edges[graph.mentees[mentee_edges > 0]] = True
    has_edges |= listed > 0
    reasons: dict[str, str] = {}
    seeks = np.asarray(pool.seeks.any(axis=1))
    offers = np.asarray(pool.offers.any(axis=1))
    for r, ref in enumerate(pool.refs):
        if ref in paired or not (seeks[r] or offers[r]):
            continue
        if has_edges[r]:
            reasons[ref] = OUTCOMPETED[mode]
        else:
            reasons[ref] = why_unmatched(pool, rules, r, as_mentee=bool(seeks[r]))
    return reasons


def warm_up() -> None:
    """Load (or compile, the first time) every kernel on a tiny pool, so the first
    coordinator's round does not wait for numba."""
    from telemachus.pairing.matching.synthetic import synthetic_pool

    pool = synthetic_pool(12, 6, seed=1)
    for mode in PairingMode:
        run_round(pool, Rules(candidates_per_mentee=4, candidates_per_mentor=2), mode)
    stable.stable_matching(
        _rankings(pool, candidates.generate(pool, Rules()), pool.capacity, {})[0],
        stable.Proposers.MENTORS,
    )


def kernels_loaded_and_compiled() -> tuple[int, int]:
    """Over every kernel signature used so far in this process: how many numba loaded
    from its cache, and how many it had to compile (0 once the install step ran)."""
    from numba.core.registry import CPUDispatcher

    loaded = compiled = 0
    for module in (assignment, candidates, stable):
        for kernel in vars(module).values():
            if isinstance(kernel, CPUDispatcher):
                loaded += sum(kernel.stats.cache_hits.values())
                compiled += sum(kernel.stats.cache_misses.values())
    return loaded, compiled
