"""A program's pool as the engines want it: stored candidates and pairing history in,
arrays out."""

from __future__ import annotations

from collections import Counter
from datetime import date

from telemachus.pairing.domain.model import Candidate, Pairing, Program, Round
from telemachus.pairing.matching.pool import Person, Pool, build_pool
from telemachus.pairing.matching.rules import Objective, Rules, Weights


def engine_rules(program: Program) -> Rules:
    r = program.rules
    return Rules(
        weights=Weights(**r.weights.model_dump()),
        min_overlap_hours=r.min_overlap_hours,
        allow_equal_stage_across_professions=r.allow_equal_stage_across_professions,
        exclude_same_department=r.exclude_same_department,
        objective=Objective(r.objective.value),
    )


def round_pool(
    lead: str,
    program: Program,
    candidates: list[Candidate],
    history: list[Pairing],
    round_: Round,
    week_of: date,
) -> Pool:
    """Places left = capacity minus live pairings, where a circle's seats take one place
    of its lead (one group, one set of meetings), as forming it asked. Anyone paired
    with, or declined by, someone in this program is not proposed to them again; nor are
    excluded pairs."""
    live = Counter[str]()
    circles_led: set[str] = set()
    for p in history:
        if p.status.live:
            live[p.mentee_ref] += 1
            if p.circle_id is None or p.circle_id not in circles_led:
                live[p.mentor_ref] += 1
            if p.circle_id is not None:
                circles_led.add(p.circle_id)
    people = [
        Person(
            ref=c.participant_ref,
            institution=c.home_institution,
            career_stage=int(c.career_stage) if c.career_stage else None,
            profession=c.profession.value if c.profession else None,
            department=c.department_code,
            reporting_line=tuple(c.reporting_line),
            offers={o.topic: o.proficiency for o in c.topics_offered},
            seeks={n.topic: n.priority for n in c.topics_sought},
            languages=tuple(c.languages),
            time_zone=c.time_zone,
            slots=tuple((s.day.value, s.start, s.end) for s in c.slots),
            capacity=c.max_relationships - live[c.participant_ref],
        )
        for c in sorted(candidates, key=lambda c: c.participant_ref)
        # An enrolment that came before the program's terms is checked here.
        if c.home_institution in program.institutions(lead)
    ]
    not_again = {(p.mentor_ref, p.mentee_ref) for p in history}
    not_again |= {(x.mentor_ref, x.mentee_ref) for x in round_.exclusions}
    return build_pool(people, program.topics, week_of, not_again)
