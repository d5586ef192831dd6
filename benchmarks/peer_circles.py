"""Peer circle formation (issue 21): 3-6 people who each teach and learn in the circle.

Small programs (up to about 19 people who could sit in a circle) get the exact set
packing, proven optimal by HiGHS; the growth used above that is measured against it over
several such programs. At 10,000 people the growth is measured against a baseline in the
same run: first fit, people in enrolment order each starting or joining the first circle
that works; then the grown formation is settled (the stable mode) and its blocking person
and circle pairs counted before and after. Every circle of every formation is checked
against the rules.

usage: python benchmarks/peer_circles.py [--people N] [--small-programs N]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial

from summary import Figure, report  # a sibling module: run as a script

from telemachus.pairing.matching import peer_circles
from telemachus.pairing.matching.rules import Rules
from telemachus.pairing.matching.synthetic import synthetic_peer_pool

SIZES = peer_circles.PeerSizes(3, 6)
Groups = list[tuple[int, ...]]


def first_fit(check: peer_circles.Circles, people: list[int]) -> Groups:
    """The baseline: people in enrolment order; each one still free starts a circle with
    the first free person they exchange with both ways, and the circle takes the first
    free people (in order) who learn and teach in it and can meet, up to the largest
    size; a circle left below the smallest size is given up."""
    links, free, groups = check.links, set(people), []
    for a in people:
        if a not in free:
            continue
        partner = next(
            (b for b in sorted(links.out.get(a, {})) if b in free and a in links.out.get(b, {})),
            None,
        )
        if partner is None or not check.can_meet((a, partner)):
            continue
        group = [a, partner]
        for k in people:
            if len(group) == SIZES.largest:
                break
            if (
                k in free
                and k not in group
                and any(k in links.out.get(m, {}) for m in group)
                and any(m in links.out.get(k, {}) for m in group)
                and check.can_meet((*group, k))
            ):
                group.append(k)
        if len(group) >= SIZES.smallest:
            groups.append(tuple(sorted(group)))
            free.difference_update(group)
    return groups


def blocking(check: peer_circles.Circles, groups: Groups) -> int:
    """People and circles that would both rather be together (see `settle`), counted
    directly from the links, written for clarity."""
    links, sizes = check.links, check.sizes
    circles = [set(g) for g in groups]
    circle_of = {p: k for k, g in enumerate(circles) for p in g}

    def lesson(m: int, group: set[int]) -> int:
        return max(
            (link.score for t, link in links.into.get(m, {}).items() if t in group), default=-1
        )

    found = 0
    for p in sorted(set(links.out) & set(links.into)):
        own = circles[circle_of[p]] if p in circle_of else None
        if own is not None:
            rest = own - {p}
            if check.fit(rest) is None or any(lesson(m, rest) != lesson(m, own) for m in rest):
                continue
        now = -1 if own is None else lesson(p, own)
        # Only a circle holding someone who can teach them can teach them better.
        for k in {circle_of[t] for t in links.into[p] if t in circle_of}:
            group = circles[k]
            if p in group or len(group) >= sizes.largest or lesson(p, group) <= now:
                continue
            if check.fit(group | {p}) is None:
                continue
            teaches = links.out.get(p, {})
            found += any(m in teaches and teaches[m].score > lesson(m, group) for m in group)
    return found


def measure(
    label: str, solve: Callable[[], Groups], check: peer_circles.Circles, quiet: bool = False
) -> dict[str, float]:
    started = time.perf_counter()
    groups = solve()
    seconds = time.perf_counter() - started
    members = [p for g in groups for p in g]
    assert len(members) == len(set(members)), "a person in two circles"
    fits = [check.fit(g) for g in groups]
    assert all(f is not None for f in fits), "a circle breaks the rules"
    result = {
        "seconds": seconds,
        "circles": len(groups),
        "placed": len(members),
        "fit": float(sum(f for f in fits if f is not None)),
    }
    if not quiet:
        print(
            f"  {label:34} {seconds:7.2f} s   {len(groups):5,} circles, "
            f"{len(members):6,} people placed, total fit {result['fit']:,.0f}",
            flush=True,
        )
    return result


def small_programs(count: int) -> None:
    """Programs of 26 people (about 18 of whom could sit in a circle): growth against the
    proven optimum, summed over `count` programs."""
    rules = Rules()
    totals = {"exact": [0.0, 0.0, 0.0], "growth": [0.0, 0.0, 0.0]}
    tried = 0
    for seed in range(count * 3):
        if tried == count:
            break
        pool = synthetic_peer_pool(16, 10, seed=seed)
        links = peer_circles.peer_links(pool, rules)
        people = links.people()
        if not 12 <= len(people) <= 19:
            continue
        tried += 1
        check = peer_circles.Circles(pool, rules, links, SIZES)
        for name, solve in (
            ("exact", peer_circles.solve_exact),
            ("growth", lambda c, p, _: peer_circles.form_by_growth(c, p)),
        ):
            r = measure(name, partial(solve, check, people, rules.objective), check, quiet=True)
            totals[name][0] += r["placed"]
            totals[name][1] += r["fit"]
            totals[name][2] += r["seconds"]
    exact, growth = totals["exact"], totals["growth"]
    print(
        f"{tried} programs of 26 people: the exact set packing placed {exact[0]:.0f} people "
        f"(fit {exact[1]:,.0f}) in {exact[2]:.2f} s; growth placed {growth[0]:.0f} "
        f"({growth[0] / max(exact[0], 1):.1%}), fit {growth[1]:,.0f} in {growth[2]:.2f} s",
        flush=True,
    )
    report(
        Figure(
            "peer_circles",
            f"{tried} programs of 26, growth, people placed",
            growth[0],
            "people",
            growth[0] / max(exact[0], 1),
            "the proven optimum, same run",
        ),
        Figure("peer_circles", f"{tried} programs of 26, exact, time", exact[2], "s"),
    )


def large(people: int) -> None:
    pool = synthetic_peer_pool(people * 3 // 5, people * 2 // 5, seed=11)
    rules = Rules()
    started = time.perf_counter()
    links = peer_circles.peer_links(pool, rules)
    link_seconds = time.perf_counter() - started
    eligible = links.people()
    print(
        f"{people:,} people: {sum(len(v) for v in links.out.values()):,} teaching links in "
        f"{link_seconds:.2f} s; {len(eligible):,} people both teach and learn",
        flush=True,
    )
    check = peer_circles.Circles(pool, rules, links, SIZES)
    formed: list[Groups] = []

    def grow() -> Groups:
        formed.append(peer_circles.form_by_growth(check, eligible))
        return formed[0]

    grown = measure("growth from two-way exchanges", grow, check)
    settled: list[Groups] = []

    def settle() -> Groups:
        settled.append(peer_circles.settle(check, list(formed[0]), eligible))
        return settled[0]

    steady = measure("  then settled (stable)", settle, check)
    before, after = blocking(check, formed[0]), blocking(check, settled[0])
    print(f"  person-and-circle blocking pairs: {before} grown, {after} settled", flush=True)
    if after:
        print("  DIFFERENT: the settled formation has blocking pairs")
    base = measure("baseline: first fit", lambda: first_fit(check, eligible), check)
    name = f"{people:,} people"
    report(
        Figure(
            "peer_circles",
            f"{name}, growth, people placed",
            grown["placed"],
            "people",
            grown["placed"] / max(base["placed"], 1),
            "first fit, same run",
        ),
        Figure(
            "peer_circles",
            f"{name}, growth, total fit",
            grown["fit"],
            "points",
            grown["fit"] / max(base["fit"], 1),
            "first fit, same run",
        ),
        Figure(
            "peer_circles",
            f"{name}, links + growth, time",
            link_seconds + grown["seconds"],
            "s",
        ),
        Figure(
            "peer_circles",
            f"{name}, settled (stable), people placed",
            steady["placed"],
            "people",
            steady["placed"] / max(base["placed"], 1),
            "first fit, same run",
        ),
        Figure("peer_circles", f"{name}, settling, time", steady["seconds"], "s"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--small-programs", type=int, default=10)
    args = parser.parse_args()
    small_programs(args.small_programs)
    large(args.people)


if __name__ == "__main__":
    main()
