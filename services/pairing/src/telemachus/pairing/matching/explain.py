"""Why a pair scored what it did, and why a person was left without a pair.

Both are worded for coordinators and participants. A proposal's terms add up to its
score; an unmatched person's reason names the first rule that left them without a
partner, found by filtering the pool rule by rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from telemachus.pairing.matching.availability import overlap_half_hours
from telemachus.pairing.matching.pool import Pool
from telemachus.pairing.matching.rules import Rules


@dataclass(frozen=True)
class Term:
    name: str
    points: int
    detail: str


@dataclass(frozen=True)
class Explanation:
    topic: str
    score: int
    terms: list[Term]
    rules: list[str]  # the rules the pair passed


def _forbidden(pool: Pool, mentor: int, mentee: int) -> bool:
    code = mentor * pool.size + mentee
    at = int(np.searchsorted(pool.forbidden, code))
    return at < pool.forbidden.size and int(pool.forbidden[at]) == code


def check_pair(pool: Pool, rules: Rules, mentor: int, mentee: int, topic: int) -> str | None:
    """The first rule that excludes (mentor, mentee, topic), or None if the pair is
    eligible. The same rules as the candidate search, one pair at a time."""
    name = pool.topics[topic]
    if mentor == mentee:
        return "a person cannot mentor themselves"
    if pool.offers[mentor, topic] == 0:
        return f"the mentor does not offer {name}"
    if pool.seeks[mentee, topic] == 0:
        return f"the mentee does not seek {name}"
    s_mentor, s_mentee = int(pool.stage[mentor]), int(pool.stage[mentee])
    if s_mentor == 0 or s_mentee == 0:
        return "a career stage is not shared, so the reverse direction cannot be checked"
    differs = _different_professions(pool, mentor, mentee)
    if s_mentor > s_mentee or (
        s_mentor == s_mentee and not (rules.allow_equal_stage_across_professions and differs)
    ):
        return (
            "reverse mentoring needs the mentor below the mentee "
            f"(stages {s_mentor} and {s_mentee})"
        )
    if (
        rules.exclude_same_department
        and pool.department[mentor] != 0
        and (pool.department[mentor] == pool.department[mentee])
    ):
        return "both are in the same department"
    hours = overlap_half_hours(pool.availability[mentor], pool.availability[mentee]) / 2
    if hours < rules.min_overlap_hours and shared_availability(pool, mentor, mentee):
        return (
            f"{hours:g} h of weekly availability in common, below the "
            f"{rules.min_overlap_hours} h minimum"
        )
    if _forbidden(pool, mentor, mentee):
        return "line management, an earlier pairing or decline, or a coordinator's exclusion"
    return None


def shared_availability(pool: Pool, a: int, b: int) -> bool:
    """Availability is compared only when both people shared it."""
    return bool(pool.availability[a].any() and pool.availability[b].any())


def _different_professions(pool: Pool, a: int, b: int) -> bool:
    pa, pb = int(pool.profession[a]), int(pool.profession[b])
    return pa >= 0 and pb >= 0 and pa != pb


def explain(pool: Pool, rules: Rules, mentor: int, mentee: int, topic: int) -> Explanation:
    w = rules.weights
    priority, proficiency = int(pool.seeks[mentee, topic]), int(pool.offers[mentor, topic])
    name = pool.topics[topic]
    terms = [
        Term(
            "topic fit",
            w.topic * priority * proficiency,
            f"{name}: priority {priority} x proficiency {proficiency} x weight {w.topic}",
        )
    ]
    half_hours = overlap_half_hours(pool.availability[mentor], pool.availability[mentee])
    counted = min(half_hours // 2, w.availability_cap)
    terms.append(
        Term(
            "availability",
            w.availability * counted,
            f"{half_hours / 2:g} h a week in common (counted up to {w.availability_cap}) "
            f"x weight {w.availability}",
        )
    )
    if _different_professions(pool, mentor, mentee):
        terms.append(
            Term("different professions", w.different_profession, "interprofessional pair")
        )
    if pool.institution[mentor] != pool.institution[mentee]:
        terms.append(
            Term("different institutions", w.different_institution, "cross-institution pair")
        )
    if pool.languages[mentor] & pool.languages[mentee]:
        terms.append(Term("shared language", w.shared_language, "they share a language"))
    stages = f"career stage {pool.stage[mentor]} mentors career stage {pool.stage[mentee]}"
    passed = [
        f"topic: the mentor offers {name}, which the mentee seeks",
        f"reverse direction: {stages}",
        (
            f"availability: {half_hours / 2:g} h a week in common, "
            f"at least {rules.min_overlap_hours} h"
        )
        if shared_availability(pool, mentor, mentee)
        else "availability: not compared, one of them did not share it",
        "no line-management link between them, and not paired or declined before",
    ]
    if rules.exclude_same_department:
        passed.append("not in the same department")
    return Explanation(topic=name, score=sum(t.points for t in terms), terms=terms, rules=passed)


def why_unmatched(pool: Pool, rules: Rules, person: int, as_mentee: bool) -> str:
    """The first rule, in the order a coordinator would check, that left `person` with
    no eligible partner at all. Vectorised over the pool: cheap for the few people who
    need it."""
    if pool.capacity[person] <= 0:
        return "no places left: already in as many relationships as they take"
    if pool.stage[person] == 0:
        return "career stage not shared, so no reverse pair can be checked"
    mine = pool.seeks[person] if as_mentee else pool.offers[person]
    theirs = pool.offers if as_mentee else pool.seeks
    wanted = [pool.topics[t] for t in np.flatnonzero(mine)]
    if not wanted:
        return "neither seeks nor offers a topic of this program"
    others = np.flatnonzero((theirs[:, mine > 0] > 0).any(axis=1) & (pool.capacity > 0))
    others = others[others != person]
    role = "offers" if as_mentee else "seeks"
    if others.size == 0:
        return f"nobody with a place left {role} {', '.join(wanted)}"
    stage = pool.stage[others].astype(int)
    me = int(pool.stage[person])
    below = (stage > 0) & ((stage < me) if as_mentee else (stage > me))
    if rules.allow_equal_stage_across_professions:
        prof = pool.profession[others]
        mine_prof = pool.profession[person]
        below |= (stage == me) & (prof >= 0) & (mine_prof >= 0) & (prof != mine_prof)
    others = others[below]
    if others.size == 0:
        side = "a lower" if as_mentee else "a higher"
        return f"nobody at {side} career stage {role} {', '.join(wanted)} (reverse direction)"
    both = np.bitwise_and(pool.availability[others], pool.availability[person])
    half_hours = np.bitwise_count(both).sum(axis=1)
    unknown = ~pool.availability[others].any(axis=1) | (not pool.availability[person].any())
    others = others[(half_hours >= rules.min_overlap_hours * 2) | unknown]
    if others.size == 0:
        return (
            f"no one otherwise eligible shares {rules.min_overlap_hours} h of weekly "
            "availability with this person"
        )
    if rules.exclude_same_department and pool.department[person] != 0:
        others = others[pool.department[others] != pool.department[person]]
        if others.size == 0:
            return "everyone otherwise eligible is in the same department"
    pairs = [(o, person) if as_mentee else (person, o) for o in others]
    if all(_forbidden(pool, mentor, mentee) for mentor, mentee in pairs):
        return (
            "everyone otherwise eligible is in their line-management chain, was paired or "
            "declined with them before, or was excluded by a coordinator"
        )
    return "eligible partners exist, but their places went to pairs that fit better"


class PinRefused(ValueError):
    """A coordinator's pin breaks a rule; the message names it."""


def best_topic(pool: Pool, rules: Rules, mentor: int, mentee: int) -> tuple[int, str | None]:
    """The topic giving the pair its best score, or the reason no topic is eligible."""
    best, best_score, reason = -1, -1, "they have no topic in common"
    for t in np.flatnonzero((pool.offers[mentor] > 0) & (pool.seeks[mentee] > 0)):
        refused = check_pair(pool, rules, mentor, mentee, int(t))
        if refused is not None:
            reason = refused
            continue
        score = explain(pool, rules, mentor, mentee, int(t)).score
        if score > best_score:
            best, best_score = int(t), score
    return best, (None if best >= 0 else reason)
