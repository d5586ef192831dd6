"""Peer circles: three to six people who teach each other, no one leading.

The article's communities of practice are "more a partnership than apprenticeship":
people "contribute as a mentor in one field and learn as a novice in another". So in a
peer circle every member teaches someone in it and learns from someone in it.

A teaching link (teacher -> learner, on a topic) is either
- reverse: the pair rules as they are (the teacher at a lower career stage), or
- boomerang: the same rules with the career direction turned over (a senior teaches a
  junior what the junior seeks, the two-way learning the domain asks for).
Both come from the pairs' candidate search (the second on a pool with its stages turned
over), so conflicts of interest, earlier pairings, department and hours rules hold for
every link.

A circle is valid when it has `smallest`..`largest` members, every member has a link in
and a link out within it, its links join everyone into one group, and, among members who
shared their hours, all are free together at least the program's minimum each week (a
circle meets as one). Some link in it is then always reverse: boomerang links run from a
higher stage to a lower one, so the member at the lowest stage teaches through a reverse
link. Its fit is what each member learns at its best: the sum over members of their best
incoming link.

Optimal mode: as many people in circles as possible, then the highest total fit (or the
fit alone). Up to `EXACT_SUBSETS` possible groups every valid circle is listed and HiGHS
picks the best disjoint set (set packing), proving the optimum; above it, circles grow
from the strongest two-way exchanges and are then repaired around the people left out
(`form_by_growth`, `improve`). Stable mode starts the same way and then moves people until
no person and circle would both rather be together (`settle`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from itertools import combinations
from math import comb
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from telemachus.pairing.matching import candidates
from telemachus.pairing.matching.circles import CircleSizes, Formation
from telemachus.pairing.matching.explain import Explanation, explain, why_unmatched
from telemachus.pairing.matching.pool import Pool
from telemachus.pairing.matching.rules import Objective, Rules

# Listing every group is cheap up to here (about 2 s in Python); above, circles grow.
EXACT_SUBSETS = 60_000
EXACT_SECONDS = 30.0
# The repair's exact windows: 10 people are 800 possible groups, a few ms. At most
# REPAIRS windows, so a large program's repair stays within seconds.
WINDOW = 10
REPAIRS = 1_000


@dataclass(frozen=True)
class PeerSizes(CircleSizes):
    """Members of a peer circle (no lead): at least two, who teach each other."""

    smallest: int = 3
    largest: int = 6
    FEWEST: ClassVar[int] = 2


@dataclass(frozen=True)
class Link:
    topic: int
    score: int


@dataclass
class Links:
    """Who may teach whom, with the pair's best topic and score on it."""

    out: dict[int, dict[int, Link]] = field(default_factory=dict)  # teacher -> learner
    into: dict[int, dict[int, Link]] = field(default_factory=dict)  # learner -> teacher

    def add(self, teacher: int, learner: int, link: Link) -> None:
        known = self.out.get(teacher, {}).get(learner)
        if known is not None and known.score >= link.score:
            return
        self.out.setdefault(teacher, {})[learner] = link
        self.into.setdefault(learner, {})[teacher] = link

    def get(self, teacher: int, learner: int) -> Link | None:
        return self.out.get(teacher, {}).get(learner)

    def people(self) -> list[int]:
        """Who could sit in a circle at all: they teach someone and learn from someone."""
        return sorted(set(self.out) & set(self.into))


def turned_over(pool: Pool) -> Pool:
    """The pool with career stages reversed (unknown stays unknown), so the pairs' search
    finds seniors teaching juniors."""
    stage = np.where(pool.stage > 0, 6 - pool.stage, 0).astype(np.int8)
    return replace(pool, stage=stage)


def peer_links(pool: Pool, rules: Rules) -> Links:
    """Both kinds of teaching link, from the pairs' candidate search.

    A member uses one place for the whole circle, teaching and learning in it, so the
    search runs as if each person with a place had two: otherwise the search would keep a
    person's only place for their own mentor and drop them as a teacher."""
    able = np.where(pool.capacity > 0, 2, 0).astype(np.int32)
    links = Links()
    for searched in (pool, turned_over(pool)):
        graph = candidates.generate(replace(searched, capacity=able), rules)
        learner = np.repeat(graph.mentees, np.diff(graph.start))
        for t, j, topic, score in zip(
            graph.mentor.tolist(),
            learner.tolist(),
            graph.topic.tolist(),
            graph.score.tolist(),
            strict=True,
        ):
            links.add(t, j, Link(topic, score))
    return links


class Circles:
    """Checks groups against the rules above; shared by both solvers."""

    def __init__(self, pool: Pool, rules: Rules, links: Links, sizes: PeerSizes) -> None:
        self.links, self.sizes = links, sizes
        self.availability = pool.availability
        self.known: npt.NDArray[np.bool_] = np.asarray(pool.availability.any(axis=1))
        self.min_half_hours = rules.min_overlap_hours * 2

    def common_half_hours(self, group: Iterable[int]) -> int | None:
        """Half-hours a week when every member who shared hours is free; None when fewer
        than two shared any (then the minimum does not apply, as for pairs)."""
        rows = [p for p in group if self.known[p]]
        if len(rows) < 2:
            return None
        both = np.bitwise_and.reduce(self.availability[rows], axis=0)
        return int(np.bitwise_count(both).sum())

    def can_meet(self, group: Iterable[int]) -> bool:
        common = self.common_half_hours(group)
        return common is None or common >= self.min_half_hours

    def lesson(self, m: int, group: set[int]) -> int:
        """The best that `m` can learn from someone in `group`, or -1 if nobody there
        teaches them."""
        into = self.links.into.get(m, {})
        return max((into[t].score for t in group if t in into), default=-1)

    def fit(self, group: Iterable[int]) -> int | None:
        """The circle's fit, or None if the group is not a valid circle."""
        members = list(group)
        if not self.sizes.smallest <= len(members) <= self.sizes.largest:
            return None
        inside = set(members)
        total = 0
        for m in members:
            best = self.lesson(m, inside)
            if best < 0 or not any(j in inside for j in self.links.out.get(m, {})):
                return None
            total += best
        if not self._joined(members, inside) or not self.can_meet(members):
            return None
        return total

    def loses_nothing(self, group: set[int], p: int) -> bool:
        """Whether `group` stays a valid circle without `p`, with no one learning less."""
        rest = group - {p}
        return self.fit(rest) is not None and all(
            self.lesson(m, rest) == self.lesson(m, group) for m in rest
        )

    def _joined(self, members: list[int], inside: set[int]) -> bool:
        seen, todo = {members[0]}, [members[0]]
        while todo:
            p = todo.pop()
            for q in (*self.links.out.get(p, {}), *self.links.into.get(p, {})):
                if q in inside and q not in seen:
                    seen.add(q)
                    todo.append(q)
        return len(seen) == len(members)


def weight(size: int, fit: int, people: int, top_fit: int, objective: Objective) -> float:
    """One more person placed outweighs any total fit under most-matched."""
    if objective is Objective.MOST_MATCHED:
        return float(size) * (top_fit * people + 1) + fit
    return float(fit)


def valid_groups(check: Circles, people: list[int]) -> tuple[list[tuple[int, ...]], list[int]]:
    """Every valid circle among `people`, with its fit."""
    groups: list[tuple[int, ...]] = []
    fits: list[int] = []
    # Bitmasks over `people` of whom each teaches and learns from, so most groups are
    # refused (someone neither learns nor teaches there) without building any set.
    at = {p: k for k, p in enumerate(people)}
    teaches = [sum(1 << at[j] for j in check.links.out.get(p, {}) if j in at) for p in people]
    learns = [sum(1 << at[t] for t in check.links.into.get(p, {}) if t in at) for p in people]
    for size in range(check.sizes.smallest, check.sizes.largest + 1):
        for chosen in combinations(range(len(people)), size):
            mask = sum(1 << k for k in chosen)
            if all(teaches[k] & mask and learns[k] & mask for k in chosen):
                group = tuple(people[k] for k in chosen)
                fit = check.fit(group)
                if fit is not None:
                    groups.append(group)
                    fits.append(fit)
    return groups, fits


def solve_exact(
    check: Circles, people: list[int], objective: Objective, time_limit: float = EXACT_SECONDS
) -> list[tuple[int, ...]]:
    """Every valid circle, then the best disjoint set of them (HiGHS, proven optimal)."""
    return pack(*valid_groups(check, people), people, objective, time_limit)


def pack(
    groups: list[tuple[int, ...]],
    fits: list[int],
    people: list[int],
    objective: Objective,
    time_limit: float = EXACT_SECONDS,
) -> list[tuple[int, ...]]:
    """The best disjoint set of `groups` (set packing by HiGHS, proven optimal)."""
    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, milp

    if not groups:
        return []
    top = max(fits)
    w = np.array(
        [weight(len(g), f, len(people), top, objective) for g, f in zip(groups, fits, strict=True)]
    )
    column = {p: k for k, p in enumerate(people)}
    rows = [column[p] for g in groups for p in g]
    cols = [k for k, g in enumerate(groups) for _ in g]
    member_of = sparse.csr_array(
        (np.ones(len(rows)), (rows, cols)), shape=(len(people), len(groups))
    )
    result = milp(
        -w,
        constraints=[LinearConstraint(member_of, 0, 1)],
        integrality=np.ones(len(groups)),
        bounds=Bounds(0, 1),
        options={"mip_rel_gap": 0.0, "time_limit": time_limit, "disp": False},
    )
    if getattr(result, "x", None) is None or result.status != 0:
        raise RuntimeError(f"peer circles: HiGHS found no proven optimum ({result.message})")
    return [g for g, x in zip(groups, result.x, strict=True) if x > 0.5]


def form_by_growth(check: Circles, people: list[int]) -> list[tuple[int, ...]]:
    """Circles grown from the strongest two-way exchanges.

    A seed is two people who can each teach the other: a circle of two in which everyone
    already teaches and learns. A circle then takes, one at a time, the person not yet
    placed who learns from it and teaches in it and adds the most fit (their own best
    lesson, plus what they raise for members they would teach better), while all can
    still meet; so every circle stays valid but for its size. Seeds grow only to the
    smallest size first, so people are not drawn into one circle who could start
    another; a seed that cannot reach it releases its people. Then circles take the
    people left, up to the largest size, and the rest try again as seeds, until no new
    circle forms. Last, `improve` repairs the neighbourhood of each person left out."""
    links, sizes = check.links, check.sizes
    free = set(people)
    pairs = []
    for a in people:
        for b, ab in links.out.get(a, {}).items():
            ba = links.get(b, a)
            if a < b and ba is not None:
                pairs.append((-(ab.score + ba.score), a, b))
    pairs.sort()
    circles: list[list[int]] = []
    while True:
        formed = len(circles)
        for _, a, b in pairs:
            if a in free and b in free and check.can_meet((a, b)):
                group = [a, b]
                free -= {a, b}
                _grow(check, group, free, sizes.smallest)
                if len(group) >= sizes.smallest:
                    circles.append(group)
                else:
                    free.update(group)
        for group in circles:
            _grow(check, group, free, sizes.largest)
        if len(circles) == formed:
            break
    groups = [tuple(sorted(g)) for g in circles]
    return improve(check, groups, free)


def improve(check: Circles, groups: list[tuple[int, ...]], free: set[int]) -> list[tuple[int, ...]]:
    """Local repair: for each person left out (the first `REPAIRS`), the circles around
    them and the free people they link to (up to `WINDOW` people) are formed again
    exactly; the new circles are kept when they place more people, or as many with more
    fit."""
    links = check.links
    circle_of = {p: k for k, g in enumerate(groups) for p in g}
    current: dict[int, tuple[int, ...]] = dict(enumerate(groups))
    fit = {k: check.fit(g) or 0 for k, g in current.items()}
    for u in sorted(free)[:REPAIRS]:
        if u not in free:
            continue
        window, touched = {u}, set()
        for v in (*links.out.get(u, {}), *links.into.get(u, {})):
            k = circle_of.get(v)
            if k is not None and k not in touched:
                if len(window) + len(current[k]) > WINDOW:
                    continue
                touched.add(k)
                window.update(current[k])
            elif k is None and v in free and len(window) < WINDOW:
                window.add(v)
        before = (sum(len(current[k]) for k in touched), sum(fit[k] for k in touched))
        groups_, fits_ = valid_groups(check, sorted(window))
        if not any(u in g for g in groups_):
            continue  # u cannot sit in any circle here: nothing to gain
        found = pack(groups_, fits_, sorted(window), Objective.MOST_MATCHED)
        fit_of = dict(zip(groups_, fits_, strict=True))
        after = (sum(len(g) for g in found), sum(fit_of[g] for g in found))
        if after <= before:
            continue
        for k in touched:
            for p in current.pop(k):
                del circle_of[p]
            del fit[k]
        free.update(window)
        for g in found:
            k = len(groups)
            groups.append(g)
            current[k], fit[k] = g, fit_of[g]
            for p in g:
                circle_of[p] = k
            free.difference_update(g)
    return [g for _, g in sorted(current.items())]


def _grow(check: Circles, group: list[int], free: set[int], largest: int) -> None:
    links = check.links
    best_in = {m: check.lesson(m, set(group)) for m in group}
    while len(group) < largest:
        teachers_of: dict[int, int] = {}
        for m in group:
            for k, link in links.out.get(m, {}).items():
                if k in free and link.score > teachers_of.get(k, -1):
                    teachers_of[k] = link.score
        best, best_gain = -1, -1
        for k, learns in teachers_of.items():
            theirs = links.out.get(k, {})  # the group is small: look its members up
            teaches = [(m, theirs[m].score) for m in group if m in theirs]
            if not teaches:
                continue
            gain = learns + sum(max(0, s - best_in[m]) for m, s in teaches)
            if (gain, -k) > (best_gain, -best) and check.can_meet((*group, k)):
                best, best_gain = k, gain
        if best < 0:
            return
        for m, link in links.out[best].items():
            if m in best_in:
                best_in[m] = max(best_in[m], link.score)
        best_in[best] = teachers_of[best]
        group.append(best)
        free.discard(best)


def exact_subsets(people: int, sizes: PeerSizes) -> int:
    return sum(comb(people, s) for s in range(sizes.smallest, sizes.largest + 1))


@dataclass(frozen=True)
class PeerMember:
    ref: str
    learns: Explanation  # their best lesson in the circle
    learns_from: str
    teaches: list[tuple[str, str]]  # (learner ref, topic)
    why: str


@dataclass(frozen=True)
class PeerCircle:
    members: list[PeerMember]
    topics: list[str]
    common_hours: float | None  # a week, when all who shared hours are free
    why: str


PeerFormation = Formation[PeerCircle]


ENGINES = {
    "exact": "peer-circles-set-packing-v1",
    "growth": "peer-circles-growth-v1",
    "stable": "peer-circles-settled-v1",
}


def form(
    pool: Pool,
    rules: Rules,
    sizes: PeerSizes,
    mode: str = "optimal",
    exact_up_to: int = EXACT_SUBSETS,
) -> PeerFormation:
    """A round's peer circles under the program's rules, each place explained. `mode`:
    "optimal" (the most people, then fit) or "stable" (the same start, then moves until no
    person and circle would both rather be together; see `settle`)."""
    if mode not in ("optimal", "stable"):
        raise ValueError(f"peer circle mode: {mode!r} is neither 'optimal' nor 'stable'")
    links = peer_links(pool, rules)
    check = Circles(pool, rules, links, sizes)
    people = links.people()
    if exact_subsets(len(people), sizes) <= exact_up_to:
        engine, groups = "exact", solve_exact(check, people, rules.objective)
        how = "These circles put the most people in circles, then give the best fit (proven)."
        if rules.objective is Objective.SCORE:
            how = "These circles give the highest total fit (proven)."
    else:
        engine, groups = "growth", form_by_growth(check, people)
        how = "It grew from the strongest two-way exchange among those not yet placed."
    if mode == "stable":
        engine, groups = "stable", settle(check, groups, people)
        how = (
            "No one outside it and this circle would both rather be together, unless "
            "their leaving would cost their own circle a lesson."
        )
    made = [_explained(pool, rules, check, g, how) for g in groups]
    placed = {p for g in groups for p in g}
    return Formation(
        engine=ENGINES[engine],
        circles=made,
        unplaced=_unplaced(pool, rules, links, placed),
        stats={"links": sum(len(v) for v in links.out.values()), "circles": len(made)},
    )


def settle(
    check: Circles, groups: list[tuple[int, ...]], people: list[int]
) -> list[tuple[int, ...]]:
    """Moves people until no person and circle would both rather be together.

    A person would rather join a circle with room where they learn better than in their
    own (or have none), and that circle would rather have them when one of its members
    would learn better from them; they must teach and learn there, and all must still be
    able to meet. A person moves only if their own circle loses nothing by it: it stays
    valid and no one in it learns less. So every move raises someone's best lesson and
    lowers none, the total of lessons rises, and moving ends. (This is stability against
    one person moving with their circle's consent; a group of people left out could
    still form a circle of their own.)"""
    links, largest, lesson = check.links, check.sizes.largest, check.lesson
    members: dict[int, set[int]] = {k: set(g) for k, g in enumerate(groups)}
    circle_of = {p: k for k, g in members.items() for p in g}
    moved = True
    while moved:
        moved = False
        for p in people:
            own = circle_of.get(p)
            mine = -1 if own is None else lesson(p, members[own])
            if own is not None and not check.loses_nothing(members[own], p):
                continue
            best, best_gain = -1, mine
            teaches = links.out.get(p, {})
            for k in sorted({circle_of[t] for t in links.into.get(p, {}) if t in circle_of}):
                group = members[k]
                if k == own or len(group) >= largest:
                    continue
                gain = lesson(p, group)
                if gain <= best_gain:
                    continue
                if not any(m in teaches and teaches[m].score > lesson(m, group) for m in group):
                    continue  # nobody there would learn better from them
                if check.can_meet((*group, p)):
                    best, best_gain = k, gain
            if best >= 0:
                if own is not None:
                    members[own].discard(p)
                members[best].add(p)
                circle_of[p] = best
                moved = True
    return [tuple(sorted(g)) for _, g in sorted(members.items()) if g]


def _explained(
    pool: Pool, rules: Rules, check: Circles, group: tuple[int, ...], how: str
) -> PeerCircle:
    links, inside = check.links, set(group)
    members = []
    for m in group:
        teacher = max(
            (t for t in links.into[m] if t in inside),
            key=lambda t: (links.into[m][t].score, -t),
        )
        link = links.into[m][teacher]
        teaches = sorted(
            (pool.refs[j], pool.topics[links.out[m][j].topic])
            for j in links.out.get(m, {})
            if j in inside
        )
        lesson = explain(pool, rules, teacher, m, link.topic)
        taught = "; ".join(f"{topic} to {ref}" for ref, topic in teaches)
        members.append(
            PeerMember(
                ref=pool.refs[m],
                learns=lesson,
                learns_from=pool.refs[teacher],
                teaches=teaches,
                why=(
                    f"You learn {lesson.topic} from {pool.refs[teacher]} ({lesson.score} "
                    f"points of fit) and teach {taught}."
                ),
            )
        )
    common = check.common_half_hours(group)
    hours = None if common is None else common / 2
    when = (
        f" All who shared their hours are free together {hours:g} h a week."
        if hours is not None
        else ""
    )
    topics = sorted({m.learns.topic for m in members} | {t for m in members for _, t in m.teaches})
    return PeerCircle(
        members=members,
        topics=topics,
        common_hours=hours,
        why=(
            f"A peer circle of {len(group)} (it takes {check.sizes.smallest} to "
            f"{check.sizes.largest}): each member teaches someone in it and learns from "
            f"someone in it, and at least one junior teaches a senior.{when} {how}"
        ),
    )


def _unplaced(pool: Pool, rules: Rules, links: Links, placed: set[int]) -> dict[str, str]:
    seeks = np.asarray(pool.seeks.any(axis=1))
    offers = np.asarray(pool.offers.any(axis=1))
    reasons: dict[str, str] = {}
    for r, ref in enumerate(pool.refs):
        if r in placed or not (seeks[r] or offers[r]):
            continue
        if r in links.out and r in links.into:
            reasons[ref] = (
                "they could teach and learn with others, but no circle that all of its "
                "members fit could take them: too few such people, or no hours when all "
                "are free"
            )
        elif not seeks[r] or not offers[r]:
            missing = "seek" if not seeks[r] else "offer"
            reasons[ref] = (
                f"a peer circle needs each member to teach and to learn; they do not {missing} "
                "a topic of this program"
            )
        else:
            reasons[ref] = _why_no_link(pool, rules, r, as_learner=r not in links.into)
    return reasons


def _why_no_link(pool: Pool, rules: Rules, person: int, as_learner: bool) -> str:
    """The pairs' reason, looked up in both directions a link may run."""
    side = "nobody could teach them" if as_learner else "nobody could learn from them"
    reverse = why_unmatched(pool, rules, person, as_learner)
    boomerang = why_unmatched(turned_over(pool), rules, person, as_learner)
    if "(reverse direction)" not in reverse:
        return f"{side}: {reverse}"
    if "(reverse direction)" not in boomerang:
        return f"{side}: {boomerang}"
    role = "offers" if as_learner else "seeks"
    wanted = pool.seeks[person] if as_learner else pool.offers[person]
    topics = ", ".join(pool.topics[t] for t in np.flatnonzero(wanted))
    return f"{side}: nobody at another career stage {role} {topics}"
