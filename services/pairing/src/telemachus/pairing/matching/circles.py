"""Circles: one junior lead with `smallest`..`largest` seniors, all on one shared topic.

A circle is formed from the same candidate search as pairs, run one topic at a time, so
every member is eligible with the lead on the circle's topic by the one-pair rules
(reverse direction, hours in common, no conflict of interest, not paired before) and
scores what that pair would score. As for pairs, a person who seeks a topic keeps one
place to join a circle and leads one only with a place to spare; a lead leads one
circle, a member joins one.

Two modes, like pairs:
- optimal: as many people in circles as possible, then the highest total fit (or the
  total alone). A circle either forms with at least `smallest` members or not at all,
  and its lead picks one topic: that makes it an integer program, not a flow, solved
  exactly by HiGHS (SciPy's `milp`) up to `EXACT_EDGES` candidate triples. Above that,
  or if HiGHS cannot prove its optimum in time, each lead takes the topic in most
  demand and the pairs' exact auction fills the seats (`solve_by_auction`).
- stable: each lead's topic is the one most of the seniors who could join seek; then
  seniors propose (deferred acceptance with the circle's largest size as capacity), and
  a circle left below its smallest size closes and its members propose on, until every
  open circle is within its sizes. No senior and open circle would both rather be
  together. Whether a closed circle could have formed is not re-examined: with lower
  sizes, a matching stable in that sense too may not exist, and deciding is NP-hard.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from telemachus.pairing.matching import assignment, candidates, stable
from telemachus.pairing.matching.explain import Explanation, explain, why_unmatched
from telemachus.pairing.matching.pool import Pool
from telemachus.pairing.matching.rules import Objective, Rules

if TYPE_CHECKING:
    from scipy import sparse

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CircleSizes:
    smallest: int = 2
    largest: int = 5
    FEWEST: ClassVar[int] = 1  # the smallest a program may set

    def __post_init__(self) -> None:
        if not self.FEWEST <= self.smallest <= self.largest:
            raise ValueError(f"circle sizes: need {self.FEWEST} <= smallest <= largest")


@dataclass(frozen=True)
class CircleEdges:
    """Every (lead, member, topic) a circle may hold, with the pair's score on it."""

    lead: I32
    member: I32
    topic: I32
    score: I32

    @property
    def size(self) -> int:
        return int(self.lead.size)


@dataclass(frozen=True)
class Member:
    ref: str
    explanation: Explanation  # the member with the lead, on the circle's topic
    why: str


@dataclass(frozen=True)
class Circle:
    lead: str
    topic: str
    members: list[Member]
    why: str


CircleT = TypeVar("CircleT")


@dataclass
class Formation(Generic[CircleT]):
    """What an engine formed: circles of either kind, and why each person left out was."""

    engine: str
    circles: list[CircleT]
    unplaced: dict[str, str]  # ref -> reason
    stats: dict[str, int] = field(default_factory=dict)


ENGINES = {
    "optimal": "circles-milp-v1",
    "assigned": "circles-topic-by-demand-auction-v1",
    "stable": "circles-deferred-acceptance-v1",
}
# The exact program is proven optimal in 12-20 s at about a thousand people (17,000-19,000
# candidate triples); at 2,000 it took two minutes and at 10,000 it found nothing in a
# minute. Above this it is not tried, and it gives up after EXACT_SECONDS.
EXACT_EDGES = 20_000
EXACT_SECONDS = 30.0


def circle_edges(pool: Pool, rules: Rules) -> CircleEdges:
    """The candidate graph of each topic on its own, joined: a pair eligible on two
    topics may sit in a circle on either."""
    parts: list[tuple[I32, I32, I32, I32]] = []
    for t in range(len(pool.topics)):
        if not (pool.offers[:, t].any() and pool.seeks[:, t].any()):
            continue
        offers = np.zeros_like(pool.offers)
        seeks = np.zeros_like(pool.seeks)
        offers[:, t], seeks[:, t] = pool.offers[:, t], pool.seeks[:, t]
        graph = candidates.generate(replace(pool, offers=offers, seeks=seeks), rules)
        member = np.repeat(graph.mentees, np.diff(graph.start)).astype(np.int32)
        parts.append((graph.mentor, member, graph.topic.astype(np.int32), graph.score))
    if not parts:
        empty = np.zeros(0, dtype=np.int32)
        return CircleEdges(empty, empty, empty, empty)
    lead, member, topic, score = (np.concatenate(column) for column in zip(*parts, strict=True))
    # A person with one place who could join keeps it for joining, as with pairs.
    joins = np.zeros(pool.size, dtype=bool)
    joins[member] = True
    can_lead = (pool.capacity - joins.astype(np.int32)) >= 1
    keep = can_lead[lead]
    return CircleEdges(
        lead[keep].astype(np.int32),
        member[keep].astype(np.int32),
        topic[keep].astype(np.int32),
        score[keep].astype(np.int32),
    )


def _circle_ids(edges: CircleEdges, topics: int) -> tuple[I64, I64]:
    """Each edge's circle (lead, topic) as a dense id, and each circle's code."""
    code = edges.lead.astype(np.int64) * topics + edges.topic
    circles, circle_of = np.unique(code, return_inverse=True)
    return circle_of.astype(np.int64), circles


def _one_hot(rows: I64, columns: int, column_of: I64) -> sparse.csr_array:
    from scipy import sparse

    return sparse.csr_array(
        (np.ones(column_of.size), (rows, column_of)), shape=(int(rows.max()) + 1, columns)
    )


def solve_optimal(
    edges: CircleEdges,
    topics: int,
    sizes: CircleSizes,
    objective: Objective,
    time_limit: float = EXACT_SECONDS,
) -> npt.NDArray[np.bool_]:
    """Which edges an optimal formation uses. Variables: one per edge (x) and one per
    possible circle (y, open or not)."""
    # Imported here: SciPy takes most of a second to import, and only circle rounds of
    # programs small enough for the exact program need it.
    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, milp

    chosen = np.zeros(edges.size, dtype=bool)
    if edges.size == 0:
        return chosen
    circle_of, circles = _circle_ids(edges, topics)
    e, c = edges.size, circles.size
    edge_ids = np.arange(e)
    _, member_row = np.unique(edges.member, return_inverse=True)
    _, lead_row = np.unique(circles // topics, return_inverse=True)
    x_in = _one_hot(circle_of, e, edge_ids)  # circle x edge
    link = sparse.csr_array((np.ones(e), (edge_ids, edge_ids)), shape=(e, e))
    constraints = [
        # each member in one circle, each lead one circle
        LinearConstraint(
            sparse.hstack(
                [
                    _one_hot(member_row, e, edge_ids),
                    sparse.csr_array((int(member_row.max()) + 1, c)),
                ]
            ),
            0,
            1,
        ),
        LinearConstraint(
            sparse.hstack(
                [
                    sparse.csr_array((int(lead_row.max()) + 1, e)),
                    _one_hot(lead_row, c, np.arange(c)),
                ]
            ),
            0,
            1,
        ),
        # a circle holds smallest..largest members when open, none when closed
        LinearConstraint(sparse.hstack([x_in, -sizes.largest * sparse.eye_array(c)]), -np.inf, 0),
        LinearConstraint(sparse.hstack([x_in, -sizes.smallest * sparse.eye_array(c)]), 0, np.inf),
        # a member only in an open circle (implied by the rows above for integers; it
        # tightens the relaxation, which is what keeps the search short)
        LinearConstraint(sparse.hstack([link, -_one_hot(edge_ids, c, circle_of)]), -np.inf, 0),
    ]
    integrality = np.ones(e + c)
    bounds = Bounds(0, 1)
    options = {"mip_rel_gap": 0.0, "presolve": True, "disp": False, "time_limit": time_limit}
    scores = edges.score.astype(np.float64)
    opened = np.zeros(c)
    if objective is Objective.MOST_MATCHED:
        # One more person in a circle (member or lead) outweighs any total fit.
        bonus = float(edges.score.max() + 1) * (np.unique(edges.member).size + 1)
        scores, opened = scores + bonus, opened + bonus
    weights = np.concatenate([scores, opened])
    result = milp(
        -weights, constraints=constraints, integrality=integrality, bounds=bounds, options=options
    )
    _check(result)
    chosen[:] = np.asarray(result.x[:e]) > 0.5
    return chosen


class NotProven(RuntimeError):
    """The exact solver stopped at its time limit without a proven optimum."""


def _check(result: object) -> None:
    if getattr(result, "x", None) is None or getattr(result, "status", 1) != 0:
        raise NotProven(str(getattr(result, "message", result)))


def circle_topics(edges: CircleEdges, topics: int) -> dict[int, int]:
    """Stable mode's topic for each lead: the one most of the seniors who could join
    seek; then the higher total fit; then the program's topic order."""
    circle_of, circles = _circle_ids(edges, topics)
    demand = np.bincount(circle_of, minlength=circles.size)
    fit = np.bincount(circle_of, weights=edges.score, minlength=circles.size)
    best: dict[int, tuple[int, float, int]] = {}
    for k, code in enumerate(circles):
        lead, topic = divmod(int(code), topics)
        key = (int(demand[k]), float(fit[k]), -topic)
        if lead not in best or key > best[lead]:
            best[lead] = key
    return {lead: -key[2] for lead, key in best.items()}


def solve_stable(
    edges: CircleEdges,
    topic_of: Mapping[int, int],
    sizes: CircleSizes,
    ranked: Mapping[int, Sequence[int]],
) -> npt.NDArray[np.bool_]:
    """Which edges a stable formation uses, with each lead on `topic_of[lead]`.

    Preferences are by score (best first, then pool row) unless `ranked` gives a
    person's own order, which keeps only eligible names."""
    used = np.flatnonzero(_on_topic(edges, topic_of))
    members, member_id = np.unique(edges.member[used], return_inverse=True)
    leads, lead_id = np.unique(edges.lead[used], return_inverse=True)
    edge_at: dict[tuple[int, int], int] = {}
    member_prefs: list[list[tuple[int, int]]] = [[] for _ in members]
    lead_prefs: list[list[tuple[int, int]]] = [[] for _ in leads]
    for e, i, j in zip(used, member_id, lead_id, strict=True):
        edge_at[(int(i), int(j))] = int(e)
        score = int(edges.score[e])
        member_prefs[i].append((-score, int(leads[j])))
        lead_prefs[j].append((-score, int(members[i])))
    member_index = {int(r): i for i, r in enumerate(members)}
    lead_index = {int(r): j for j, r in enumerate(leads)}
    member_lists = [[lead_index[r] for _, r in sorted(p)] for p in member_prefs]
    lead_lists = [[member_index[r] for _, r in sorted(p)] for p in lead_prefs]
    for row, names in ranked.items():
        if row in member_index:
            i = member_index[row]
            member_lists[i] = [
                lead_index[r] for r in names if r in lead_index and (i, lead_index[r]) in edge_at
            ]
        if row in lead_index:
            j = lead_index[row]
            lead_lists[j] = [
                member_index[r]
                for r in names
                if r in member_index and (member_index[r], j) in edge_at
            ]
    capacity = np.full(leads.size, sizes.largest, dtype=np.int32)
    while True:
        rankings = stable.Rankings(
            mentee_start=_offsets(member_lists),
            mentee_list=_flat(member_lists),
            mentor_start=_offsets(lead_lists),
            mentor_list=_flat(lead_lists),
            capacity=capacity,
        )
        partner = stable.stable_matching(rankings)
        held = np.bincount(partner[partner >= 0], minlength=leads.size)
        short = (held > 0) & (held < sizes.smallest)
        if not short.any():
            break
        capacity[short] = 0  # closes; its members propose on down their lists
    chosen = np.zeros(edges.size, dtype=bool)
    for i, j in enumerate(partner):
        if j >= 0:
            chosen[edge_at[(i, int(j))]] = True
    return chosen


def solve_by_auction(
    edges: CircleEdges,
    topic_of: Mapping[int, int],
    sizes: CircleSizes,
    objective: Objective,
    people: int,
) -> npt.NDArray[np.bool_]:
    """For programs too large to prove: each lead on `topic_of[lead]`, then the optimal
    assignment of members to seats (the pairs' exact auction); a circle left below
    `smallest` closes and the rest is solved again. The auction fills the best leads
    first, which can leave others short, so every seat count from `smallest` to
    `largest` is tried and the best formation kept. Optimal for the circles it opens on
    those topics at that seat count, not over every choice of topics and circles."""
    used = np.flatnonzero(_on_topic(edges, topic_of))
    order = used[np.lexsort((-edges.score[used], edges.member[used]))]
    members, counts = np.unique(edges.member[order], return_counts=True)
    start = np.zeros(members.size + 1, dtype=np.int64)
    np.cumsum(counts, out=start[1:])
    best, best_key = np.zeros(edges.size, dtype=bool), (-1, -1)
    for seats in range(sizes.smallest, sizes.largest + 1):
        capacity = np.zeros(people, dtype=np.int32)
        capacity[edges.lead[order]] = seats
        while True:
            graph = candidates.CandidateGraph(
                mentees=members.astype(np.int32),
                start=start,
                mentor=edges.lead[order],
                topic=edges.topic[order].astype(np.int16),
                score=edges.score[order],
                mentor_capacity=capacity,
            )
            result = assignment.solve(graph, objective)
            matched = result.mentor_of >= 0
            held = np.bincount(result.mentor_of[matched], minlength=people)
            short = (held > 0) & (held < sizes.smallest)
            if not short.any():
                break
            # Leads left empty close too: otherwise the members freed by the short circles
            # start new singles there, one more round each (36 solves at 10,000 people
            # instead of 15, with the same formation).
            capacity[short | (held == 0)] = 0
        chosen = np.zeros(edges.size, dtype=bool)
        chosen[order[result.edge_of[matched]]] = True
        placed = int(matched.sum()) + int((held > 0).sum())
        fit = int(edges.score[chosen].sum())
        key = (placed, fit) if objective is Objective.MOST_MATCHED else (fit, placed)
        if key > best_key:
            best, best_key = chosen, key
    return best


def _on_topic(edges: CircleEdges, topic_of: Mapping[int, int]) -> npt.NDArray[np.bool_]:
    wanted = np.full(int(edges.lead.max(initial=-1)) + 1, -1, dtype=np.int64)
    for lead, topic in topic_of.items():
        wanted[lead] = topic
    return wanted[edges.lead] == edges.topic if edges.size else np.zeros(0, dtype=bool)


def _offsets(lists: list[list[int]]) -> I64:
    starts = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum([len(x) for x in lists], out=starts[1:])
    return starts


def _flat(lists: list[list[int]]) -> I32:
    return np.array([x for lst in lists for x in lst], dtype=np.int32)


def form(
    pool: Pool,
    rules: Rules,
    sizes: CircleSizes,
    mode: str = "optimal",
    rankings: Mapping[str, Sequence[str]] | None = None,
    exact_up_to: int = EXACT_EDGES,
) -> Formation[Circle]:
    """A round's circles under the program's rules, each member's place explained."""
    edges = circle_edges(pool, rules)
    topics = len(pool.topics)
    ranked: dict[int, list[int]] = {}
    if mode == "optimal":
        engine = "optimal"
        try:
            if edges.size > exact_up_to:
                raise NotProven(f"{edges.size} candidate triples, above {exact_up_to}")
            chosen = solve_optimal(edges, topics, sizes, rules.objective)
            topic_why = "This topic puts the most people in circles, then gives the best fit."
        except NotProven:
            engine = "assigned"
            chosen = solve_by_auction(
                edges, circle_topics(edges, topics), sizes, rules.objective, pool.size
            )
            topic_why = (
                "This topic is the one most of the seniors who could join want; the seats "
                "went where they put the most people in circles, then gave the best fit."
            )
    elif mode == "stable":
        row = pool.index()
        ranked = {
            row[ref]: [row[n] for n in names if n in row]
            for ref, names in (rankings or {}).items()
            if ref in row
        }
        chosen = solve_stable(edges, circle_topics(edges, topics), sizes, ranked)
        engine = "stable"
        topic_why = "This topic is the one most of the seniors who could join want."
    else:
        raise ValueError(f"circle mode: {mode!r} is neither 'optimal' nor 'stable'")
    in_play = (
        np.ones(edges.size, dtype=bool)
        if engine == "optimal"
        else _on_topic(edges, circle_topics(edges, topics))
    )
    options: dict[int, list[int]] = {}
    for member, score in zip(edges.member[in_play], edges.score[in_play], strict=True):
        options.setdefault(int(member), []).append(int(score))
    by_lead: dict[int, list[int]] = {}
    for e in np.flatnonzero(chosen):
        by_lead.setdefault(int(edges.lead[e]), []).append(int(e))
    circles = []
    for lead, used in sorted(by_lead.items()):
        topic = int(edges.topic[used[0]])
        members = [
            Member(
                pool.refs[int(edges.member[e])],
                explain(pool, rules, lead, int(edges.member[e]), topic),
                _why_member(
                    pool,
                    edges,
                    e,
                    engine,
                    len(used),
                    options[int(edges.member[e])],
                    ranked.get(int(edges.member[e])),
                ),
            )
            for e in sorted(used, key=lambda e: (-int(edges.score[e]), int(edges.member[e])))
        ]
        circles.append(
            Circle(
                pool.refs[lead],
                pool.topics[topic],
                members,
                f"A circle of {len(used)} seniors on {pool.topics[topic]} (it takes "
                f"{sizes.smallest} to {sizes.largest}). {topic_why}",
            )
        )
    placed = {int(edges.lead[e]) for e in np.flatnonzero(chosen)} | {
        int(edges.member[e]) for e in np.flatnonzero(chosen)
    }
    return Formation(
        engine=ENGINES[engine],
        circles=circles,
        unplaced=_unplaced(pool, rules, edges, placed, engine),
        stats={"candidates": edges.size, "circles": len(circles)},
    )


def _why_member(
    pool: Pool,
    edges: CircleEdges,
    e: int,
    engine: str,
    size: int,
    options: list[int],
    their_ranking: list[int] | None = None,
) -> str:
    """`options`: the member's scores with every circle the engine could place them in;
    `their_ranking`: the leads they ranked themselves (stable rounds), best first."""
    lead, member, topic = int(edges.lead[e]), int(edges.member[e]), int(edges.topic[e])
    fit = (
        f"You want {pool.topics[topic]} (priority {pool.seeks[member, topic]}) and the lead "
        f"offers it (proficiency {pool.offers[lead, topic]}): {int(edges.score[e])} points "
        "of fit."
    )
    better = sum(1 for score in options if score > edges.score[e])
    could = "1 circle" if len(options) == 1 else f"{len(options)} circles"
    if engine == "stable" and their_ranking and lead in their_ranking:
        place = their_ranking.index(lead) + 1
        if place == 1:
            return f"{fit} You ranked this lead first."
        return (
            f"{fit} You ranked this lead {place} of {len(their_ranking)}; the leads you "
            "ranked higher had no place they would give you."
        )
    if engine == "stable":
        if not better:
            return f"{fit} Of the {could} you could join, this one fits you best."
        return (
            f"{fit} {better} of the {could} you could join fit you better, but their leads "
            "had no place they would give you."
        )
    if not better:
        return f"{fit} Of the {could} you could join, this one fits you best."
    return (
        f"{fit} You could join {could}; {better} would fit you better, but this seat puts "
        f"the most people in circles (this one has {size})."
    )


def _unplaced(
    pool: Pool, rules: Rules, edges: CircleEdges, placed: set[int], mode: str
) -> dict[str, str]:
    has_edges = np.zeros(pool.size, dtype=bool)
    has_edges[edges.member] = True
    has_edges[edges.lead] = True
    seeks = np.asarray(pool.seeks.any(axis=1))
    offers = np.asarray(pool.offers.any(axis=1))
    reasons: dict[str, str] = {}
    for r, ref in enumerate(pool.refs):
        if r in placed or not (seeks[r] or offers[r]):
            continue
        if has_edges[r]:
            reasons[ref] = (
                "eligible circles exist, but the optimal formation gave their places to "
                "others, or they could not reach their smallest size"
                if mode != "stable"
                else "no circle they could join had a place its lead would give them, or "
                "the circle closed below its smallest size"
            )
        else:
            reasons[ref] = why_unmatched(pool, rules, r, as_mentee=bool(seeks[r]))
    return reasons
