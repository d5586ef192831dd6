"""What a program sets out to achieve, and at which of Kirkpatrick's levels it evaluates.

The article behind DOMAIN.md finds that reverse-mentoring evaluations stop at reactions
and lack longitudinal evidence. A program therefore states its goals, each measured by
items of our instruments, and asks both people again some months after the relationship
ends (3 and 6 by default): what they still use at work (behaviour), what came of it for
their team, patients or service (results), and their outcomes again (learning kept).
"""

from __future__ import annotations

import re
from datetime import datetime

from dateutil.relativedelta import relativedelta
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from telemachus.feedback.domain.instruments import BY_KEY, Instrument, Item, Level

MEASURE = re.compile(r"^(?P<instrument>[a-z-]+\.v\d+)\.(?P<item>[a-z-]+)$")


def measured_item(measure: str) -> tuple[Instrument, Item]:
    """`mentee-outcomes.v1.current-knowledge` -> that instrument and its item."""
    parts = MEASURE.match(measure)
    if parts is None or parts["instrument"] not in BY_KEY:
        raise ValueError(f"{measure!r} is not an instrument item (see GET /instruments)")
    instrument = BY_KEY[parts["instrument"]]
    for item in instrument.items:
        if item.id == parts["item"]:
            return instrument, item
    raise ValueError(f"{instrument.key} has no item {parts['item']!r}")


def level_of(measure: str) -> Level:
    instrument, item = measured_item(measure)
    return instrument.level_of(item)


class Goal(BaseModel):
    """One thing the program means to change, and how the report tells whether it did."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    key: str = Field(pattern=r"^[a-z][a-z0-9-]{0,39}$", description="short, stable name")
    statement: str = Field(min_length=3, max_length=300, description="the goal, in words")
    level: Level
    measures: list[str] = Field(
        min_length=1,
        max_length=10,
        description="items measuring it, as `instrument.vN.item` (see GET /instruments)",
    )
    target: float | None = Field(
        default=None,
        ge=-4,
        le=5,
        description="learning: the mean change from baseline aimed for; other levels: the "
        "mean score (1-5) aimed for",
    )

    @field_validator("measures")
    @classmethod
    def _known(cls, measures: list[str]) -> list[str]:
        for measure in measures:
            measured_item(measure)
        if len(set(measures)) != len(measures):
            raise ValueError("an item is named twice")
        return measures

    @model_validator(mode="after")
    def _same_level(self) -> Goal:
        for measure in self.measures:
            if (level := level_of(measure)) is not self.level:
                raise ValueError(
                    f"measures: {measure} measures {level.value}, not {self.level.value}"
                )
        return self


class EvaluationPlan(BaseModel):
    """Set by the lead's coordinators; by default every level, follow-ups at 3 and 6 months."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    levels: list[Level] = Field(
        default_factory=lambda: list(Level), description="the Kirkpatrick levels evaluated"
    )
    goals: list[Goal] = Field(default_factory=list, max_length=20)
    follow_up_months: list[int] = Field(
        default_factory=lambda: [3, 6],
        max_length=4,
        description="months after a relationship ends when both people are asked again",
    )
    follow_up_days: int = Field(
        default=30, ge=7, le=90, description="how long a follow-up stays open"
    )

    @field_validator("levels")
    @classmethod
    def _levels(cls, levels: list[Level]) -> list[Level]:
        if Level.REACTION not in levels:
            raise ValueError("reaction is always evaluated: check-ins follow every session")
        return sorted(set(levels), key=list(Level).index)

    @field_validator("follow_up_months")
    @classmethod
    def _months(cls, months: list[int]) -> list[int]:
        for month in months:
            if not 1 <= month <= 24:
                raise ValueError(f"{month} is not between 1 and 24 months")
        if len(set(months)) != len(months):
            raise ValueError("a month is given twice")
        return sorted(months)

    @model_validator(mode="after")
    def _consistent(self) -> EvaluationPlan:
        later = sorted({Level.BEHAVIOUR, Level.RESULTS} & set(self.levels))
        if later and not self.follow_up_months:
            raise ValueError(
                f"follow_up_months: {' and '.join(later)} can only be measured in a "
                "follow-up; give months or leave those levels out"
            )
        keys = [goal.key for goal in self.goals]
        for goal in self.goals:
            if keys.count(goal.key) > 1:
                raise ValueError(f"goals: {goal.key!r} names two goals")
            if goal.level not in self.levels:
                raise ValueError(
                    f"goals: {goal.key!r} is about {goal.level.value}, which this plan's "
                    "levels leave out"
                )
        return self


def follow_up_opens(ended: datetime, months: int) -> datetime:
    """`months` calendar months after the end (the month's last day where it is shorter)."""
    return ended + relativedelta(months=months)
