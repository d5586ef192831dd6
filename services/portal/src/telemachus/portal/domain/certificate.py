"""A certificate of a person's contribution to a program, for appraisal or continuing
professional development (issue 21, recognition).

Issued by the person's home institution, to the person, only with their consent. It names
the person and the institutions, never anyone else: the people they mentored or were
mentored by appear only as a count, and what those people said only as the program's
aggregates (hidden below its threshold, as in every report).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

Json = dict[str, Any]
ROLE_WORDS = {"mentor": "junior mentor", "mentee": "senior mentee"}


@dataclass(frozen=True)
class Rating:
    title: str
    n: int | None  # None: hidden below the threshold
    mean: float | None
    items: list[tuple[str, float]]


@dataclass(frozen=True)
class Certificate:
    name: str
    home: str
    program: str
    lead: str
    roles: list[str]
    relationships: int
    completed: int
    first_day: date | None
    last_day: date | None
    sessions_held: int
    hours: float
    topics: list[str]
    ratings: list[Rating]
    threshold: int
    issued_on: date


class NoConsent(Exception):
    """The person has not agreed to a certificate for this program (or took it back)."""


def consented(me: Json, program_id: str) -> bool:
    """The latest enrolment in the program says they agreed, and has not been taken back."""
    for enrolment in reversed(me.get("enrolments", [])):
        if enrolment["program_id"] == program_id:
            return bool(enrolment.get("recognition_consented_at"))
    return False


def require_consent(me: Json, program_id: str) -> None:
    if not consented(me, program_id):
        raise NoConsent(program_id)


def _held_hours(relationship: Json) -> float:
    seconds = 0.0
    for session in relationship.get("sessions", []):
        if session.get("status") == "held":
            starts = datetime.fromisoformat(session["starts_at"])
            seconds += (datetime.fromisoformat(session["ends_at"]) - starts).total_seconds()
    return seconds / 3600


def _rating(metric: Json) -> Rating:
    total = metric["total"]
    items = [
        (c["group"], c["value"]) for c in metric.get("items", []) if c.get("value") is not None
    ]
    return Rating(metric["label"], total.get("n"), total.get("value"), items)


def _named(names: dict[str, str], key: str) -> str:
    return names.get(key) or key


def certificate(
    me: Json,
    program: Json,
    relationships: list[Json],
    recognition: Json,
    names: dict[str, str],
    topics: dict[str, str],
    today: date,
) -> Certificate:
    """From the person's home record, the program, their relationships at the lead and
    the lead's aggregate of what others said of them. Only the person's own side is read."""
    require_consent(me, program["id"])
    ref = me["ref"]
    mine = [r for r in relationships if r["program_id"] == program["id"]]
    roles = sorted({"mentor" if r["mentor_ref"] == ref else "mentee" for r in mine})
    days = [date.fromisoformat(r["starts_on"]) for r in mine]
    ends = [date.fromisoformat(r["closed_on"]) for r in mine if r.get("closed_on")]
    return Certificate(
        name=me["display_name"],
        home=_named(names, me["home_institution"]),
        program=program["title"],
        lead=_named(names, program["lead_institution"]),
        roles=[ROLE_WORDS[role] for role in roles],
        relationships=len(mine),
        completed=sum(1 for r in mine if r["status"] == "completed"),
        first_day=min(days, default=None),
        last_day=max(ends, default=None),
        sessions_held=sum(int(r.get("held", 0)) for r in mine),
        hours=round(sum(_held_hours(r) for r in mine), 1),
        topics=sorted({_named(topics, r["topic"]) for r in mine}),
        ratings=[_rating(m) for m in recognition.get("ratings", [])],
        threshold=int(recognition.get("threshold", 5)),
        issued_on=today,
    )
