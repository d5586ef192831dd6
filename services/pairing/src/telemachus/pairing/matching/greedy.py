"""The walking skeleton's engine: eligible (mentor, mentee, topic) triples, best score first.

Greedy is not optimal; the assigned/ranked/mixed engines replace it (see issue 4). What
stays is the contract: pure data in, proposals with explanations and reasons for every
unmatched person out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ENGINE = "greedy-v1"


@dataclass(frozen=True)
class Person:
    ref: str
    institution: str
    profession: str | None
    career_stage: int | None
    offers: dict[str, int]  # topic -> proficiency 1..5
    seeks: dict[str, int]  # topic -> priority 1..5
    languages: frozenset[str]
    capacity: int


@dataclass(frozen=True)
class Proposal:
    mentor: str
    mentee: str
    topic: str
    score: float
    explanation: list[str] = field(default_factory=list)


def score_pair(mentor: Person, mentee: Person, topic: str) -> tuple[float, list[str]] | None:
    """None when the pair is not eligible; else the score and the terms that made it."""
    if mentor.ref == mentee.ref or topic not in mentor.offers or topic not in mentee.seeks:
        return None
    if mentor.career_stage is None or mentee.career_stage is None:
        return None
    if mentor.career_stage >= mentee.career_stage:
        return None  # reverse mentoring: the mentor is the less senior one
    fit = mentee.seeks[topic] * mentor.offers[topic]
    terms = [
        f"topic fit {fit} (priority {mentee.seeks[topic]} x proficiency {mentor.offers[topic]})",
        f"reverse direction: career stage {mentor.career_stage} mentors {mentee.career_stage}",
    ]
    score = float(fit)
    if mentor.profession and mentee.profession and mentor.profession != mentee.profession:
        score += 2
        terms.append("+2 different professions")
    if mentor.institution != mentee.institution:
        score += 2
        terms.append("+2 different institutions")
    if mentor.languages & mentee.languages:
        score += 1
        terms.append("+1 shared language")
    return score, terms


def propose(
    people: list[Person], topics: list[str], excluded: set[tuple[str, str]]
) -> tuple[list[Proposal], dict[str, str]]:
    """Proposals, and for every mentee left without one, the reason."""
    options: list[Proposal] = []
    for mentee in people:
        for topic in mentee.seeks:
            if topic not in topics:
                continue
            for mentor in people:
                if (mentor.ref, mentee.ref) in excluded:
                    continue
                scored = score_pair(mentor, mentee, topic)
                if scored is not None:
                    options.append(Proposal(mentor.ref, mentee.ref, topic, *scored))
    options.sort(key=lambda p: (-p.score, p.mentee, p.mentor, p.topic))
    load = {person.ref: 0 for person in people}
    capacity = {person.ref: person.capacity for person in people}
    matched_mentees: set[str] = set()
    chosen: list[Proposal] = []
    for option in options:
        if option.mentee in matched_mentees:
            continue
        if load[option.mentor] >= capacity[option.mentor]:
            continue
        if load[option.mentee] >= capacity[option.mentee]:
            continue
        chosen.append(option)
        matched_mentees.add(option.mentee)
        load[option.mentor] += 1
        load[option.mentee] += 1
    had_options = {o.mentee for o in options}
    unmatched: dict[str, str] = {}
    for person in people:
        if person.ref in matched_mentees or load[person.ref] > 0:
            continue
        if not person.seeks:
            unmatched[person.ref] = "no eligible mentee was paired with this person this round"
        elif person.career_stage is None:
            unmatched[person.ref] = "career stage not shared, so no reverse pair can be checked"
        elif person.ref not in had_options:
            unmatched[person.ref] = (
                "nobody at a lower career stage offers a topic this person seeks"
            )
        else:
            unmatched[person.ref] = "every eligible mentor was already at capacity"
    return chosen, unmatched
