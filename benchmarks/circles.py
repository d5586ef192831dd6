"""Circle formation (issue 21): one junior lead with 2-5 seniors on a shared topic.

At 1,000 people the exact program (HiGHS) proves the optimum, and the large-program path
(topics by demand, then the exact auction over seats) is measured against it. At 10,000
the exact program is not tried (at 2,000 it took two minutes); the large-program path and
the stable formation are measured against a greedy baseline in the same run: seniors, best
pair first, take the best circle with a seat, and circles left too small close and their
members go again. Every formation is checked: sizes, one topic per lead, one circle per
member; the stable one for blocking pairs.

usage: python benchmarks/circles.py [--people N] [--exact-people N]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from summary import Figure, report  # a sibling module: run as a script

from telemachus.pairing.matching import circles
from telemachus.pairing.matching.rules import Objective, Rules
from telemachus.pairing.matching.synthetic import synthetic_pool

SIZES = circles.CircleSizes(2, 5)


def greedy(edges: circles.CircleEdges, topics: int) -> np.ndarray:
    """The baseline: best pairs first, each senior into the best circle with a seat, the
    lead's topic fixed by its first member; circles under the smallest size close and
    their members go again, until none is short."""
    order = np.argsort(-edges.score, kind="stable")
    closed: set[int] = set()
    while True:
        topic_of: dict[int, int] = {}
        seats: dict[int, int] = {}
        chosen = np.zeros(edges.size, dtype=bool)
        member_done: set[int] = set()
        for e in order:
            lead, member, topic = int(edges.lead[e]), int(edges.member[e]), int(edges.topic[e])
            if member in member_done or lead in closed:
                continue
            if topic_of.setdefault(lead, topic) != topic or seats.get(lead, 0) >= SIZES.largest:
                continue
            seats[lead] = seats.get(lead, 0) + 1
            member_done.add(member)
            chosen[e] = True
        short = {lead for lead, n in seats.items() if n < SIZES.smallest}
        if not short:
            return chosen
        closed |= short


def measure(label: str, solve: Callable[[], np.ndarray], edges: circles.CircleEdges) -> dict:
    started = time.perf_counter()
    chosen = solve()
    seconds = time.perf_counter() - started
    leads, members = edges.lead[chosen], edges.member[chosen]
    sizes = np.bincount(leads)
    sizes = sizes[sizes > 0]
    assert np.unique(members).size == members.size, "a member in two circles"
    assert all(SIZES.smallest <= s <= SIZES.largest for s in sizes), "a circle out of size"
    for lead in np.unique(leads):
        assert np.unique(edges.topic[chosen][leads == lead]).size == 1, "a lead on two topics"
    result = {
        "seconds": seconds,
        "circles": int(sizes.size),
        "placed": int(members.size + sizes.size),
        "fit": int(edges.score[chosen].sum()),
    }
    print(
        f"  {label:34} {seconds:7.2f} s   {result['circles']:5,} circles, "
        f"{result['placed']:6,} people placed, total fit {result['fit']:,}",
        flush=True,
    )
    return result


def blocking(edges: circles.CircleEdges, chosen: np.ndarray) -> int:
    """Seniors and open circles (on the circle's topic) that would both rather be
    together: an independent check, written for clarity."""
    lead_topic = {int(edges.lead[e]): int(edges.topic[e]) for e in np.flatnonzero(chosen)}
    held: dict[int, list[int]] = {}
    mine: dict[int, int] = {}
    for e in np.flatnonzero(chosen):
        held.setdefault(int(edges.lead[e]), []).append(int(edges.score[e]))
        mine[int(edges.member[e])] = int(edges.score[e])
    found = 0
    for k in range(edges.size):
        lead, member, score = int(edges.lead[k]), int(edges.member[k]), int(edges.score[k])
        if chosen[k] or lead_topic.get(lead) != int(edges.topic[k]):
            continue
        room = len(held[lead]) < SIZES.largest or score > min(held[lead])
        found += score > mine.get(member, -1) and room
    return found


def case(people: int, exact: bool) -> None:
    pool = synthetic_pool(people * 3 // 4, people // 4, seed=11)
    rules = Rules(objective=Objective.MOST_MATCHED)
    topics = len(pool.topics)
    started = time.perf_counter()
    edges = circles.circle_edges(pool, rules)
    print(
        f"{people:,} people: {edges.size:,} candidate (lead, senior, topic) triples in "
        f"{time.perf_counter() - started:.2f} s",
        flush=True,
    )
    by_demand = circles.circle_topics(edges, topics)
    large = measure(
        "topics by demand + auction",
        lambda: circles.solve_by_auction(edges, by_demand, SIZES, rules.objective, pool.size),
        edges,
    )
    chosen_stable: list[np.ndarray] = []

    def stable() -> np.ndarray:
        chosen_stable.append(circles.solve_stable(edges, by_demand, SIZES, {}))
        return chosen_stable[0]

    steady = measure("stable (deferred acceptance)", stable, edges)
    blocks = blocking(edges, chosen_stable[0])
    print(f"  stable formation: {blocks} blocking pairs", flush=True)
    if blocks:
        print("  DIFFERENT: the stable formation has blocking pairs")
    base = measure("baseline: greedy", lambda: greedy(edges, topics), edges)
    name = f"{people:,} people"
    for label, r in (("large-program path", large), ("stable", steady)):
        report(
            Figure(
                "circles",
                f"{name}, {label}, people placed",
                r["placed"],
                "people",
                r["placed"] / base["placed"],
                "greedy, same run",
            ),
            Figure(
                "circles",
                f"{name}, {label}, time",
                r["seconds"],
                "s",
                base["seconds"] / r["seconds"],
                f"greedy ({base['seconds']:.2f} s)",
            ),
        )
    if exact:
        best = measure(
            "exact (HiGHS), proven optimal",
            lambda: circles.solve_optimal(edges, topics, SIZES, rules.objective),
            edges,
        )
        print(
            f"  large-program path places {large['placed'] / best['placed']:.1%} of the "
            f"optimum's people at {large['fit'] / max(best['fit'], 1):.1%} of its fit",
            flush=True,
        )
        report(
            Figure(
                "circles",
                f"{name}, large-program path, people placed",
                large["placed"],
                "people",
                large["placed"] / best["placed"],
                "the proven optimum, same run",
            ),
            Figure("circles", f"{name}, exact optimum, time", best["seconds"], "s"),
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--exact-people", type=int, default=1_000)
    args = parser.parse_args()
    case(args.exact_people, exact=True)
    case(args.people, exact=False)


if __name__ == "__main__":
    main()
