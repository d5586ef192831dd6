"""The evaluation plan as a coordinator fills it in on the evaluation page: the levels the
program evaluates, when both people are asked again after the end, and goals, one added at a
time. Checked here field by field; the feedback service checks the rest (an item of
another level, say) and its reason is shown beside the goal."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from telemachus.portal.domain.names import short_name
from telemachus.portal.domain.profile_form import N_, Problem

LEVELS = ("reaction", "learning", "behaviour", "results")
Json = dict[str, Any]


@dataclass(frozen=True)
class PlanForm:
    """What the page sends, as text: nothing is lost when it comes back with a problem."""

    levels: Sequence[str]
    months: str
    days: str
    remove: Sequence[str]  # keys of goals to take out
    statement: str
    level: str
    measures: Sequence[str]
    target: str


def key_for(statement: str, taken: Sequence[str]) -> str:
    return short_name(statement, taken, fallback="goal")


def plan_from(current: Json, form: PlanForm) -> tuple[Json, dict[str, Problem]]:
    """The plan to send, and what is wrong with the form (nothing is sent if anything is)."""
    errors: dict[str, Problem] = {}
    months_text = [m for m in re.split(r"[,\s]+", form.months.strip()) if m]
    if not all(m.isdigit() for m in months_text):
        errors["follow_up_months"] = Problem(N_("Give months as whole numbers, such as 3, 6."))
    if not form.days.strip().isdigit():
        errors["follow_up_days"] = Problem(N_("Give the number of days as a whole number."))
    goals = [g for g in current.get("goals", []) if g["key"] not in set(form.remove)]
    statement = form.statement.strip()
    if statement or form.measures:
        if not statement:
            errors["statement"] = Problem(N_("Say what the goal is."))
        if not form.measures:
            errors["measures"] = Problem(N_("Choose at least one item that measures this goal."))
        if form.level not in LEVELS:
            errors["goal_level"] = Problem(N_("Choose the level of this goal."))
        target: float | None = None
        if form.target.strip():
            try:
                target = float(form.target.replace(",", "."))
            except ValueError:
                errors["target"] = Problem(N_("Give the target as a number, such as 0.5 or 4."))
        if not errors:
            goals.append(
                {
                    "key": key_for(statement, [g["key"] for g in goals]),
                    "statement": statement,
                    "level": form.level,
                    "measures": list(form.measures),
                    "target": target,
                }
            )
    plan = {
        # Reaction is always evaluated: check-ins follow every session.
        "levels": sorted({"reaction", *form.levels} & set(LEVELS), key=LEVELS.index),
        "goals": goals,
        "follow_up_months": [int(m) for m in months_text]
        if "follow_up_months" not in errors
        else [],
        "follow_up_days": int(form.days) if "follow_up_days" not in errors else 30,
    }
    return plan, errors


def where_refused(field: str | None) -> str:
    """Where on the page a refusal of the service belongs: a goal's problems beside the new
    goal, the others beside their field."""
    if not field or field.startswith("goals"):
        return "goal"
    return field.split(".")[0]
