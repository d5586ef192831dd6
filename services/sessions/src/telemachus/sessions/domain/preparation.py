"""Ground rules and preparation: what must hold before a relationship plans its first
session.

The article behind the program warns that a junior mentor "may lack prior experience in
the role" and that the power imbalance between the two can curtail the exchange: so a
program prepares each role with short modules (each with its reading and a check), and
both people agree to the program's ground rules as part of their learning agreement. A
changed version of the rules is agreed to again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StringConstraints, model_validator

from telemachus.sessions.domain import events
from telemachus.shared.domain import Aggregate
from telemachus.shared.errors import Rejected

Rule = Annotated[str, StringConstraints(min_length=3, max_length=500)]
DEFAULT_RULES = [
    "What is said between us stays between us, unless someone is at risk of harm.",
    "Nothing from this relationship is used in appraisal, promotion or discipline.",
    "Either of us may end the relationship at any time, without fault and without giving a reason.",
    "We meet as equals: the junior mentors, the senior learns, and both learn from each other.",
]


class GroundRules(BaseModel):
    model_config = ConfigDict(frozen=True)
    version: int = Field(default=1, ge=1)
    rules: list[Rule] = Field(
        default_factory=lambda: list(DEFAULT_RULES), min_length=1, max_length=20
    )


class ModuleRole(StrEnum):
    MENTOR = "mentor"  # the junior who mentors
    MENTEE = "mentee"  # the senior who is mentored
    BOTH = "both"


class PreparationModule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,39}$")]
    role: ModuleRole
    title: Annotated[str, StringConstraints(min_length=3, max_length=200)]
    links: list[HttpUrl] = Field(default_factory=list, max_length=10)
    question: Annotated[str, StringConstraints(min_length=3, max_length=500)]
    options: list[Annotated[str, StringConstraints(min_length=1, max_length=300)]] = Field(
        min_length=2, max_length=6
    )
    answer: int = Field(ge=0, description="the index of the right option (never shown)")

    @model_validator(mode="after")
    def _answer_is_an_option(self) -> PreparationModule:
        if self.answer >= len(self.options):
            raise ValueError(f"answer must be the index of one of the {len(self.options)} options")
        return self

    def for_role(self, role: str) -> bool:
        return self.role is ModuleRole.BOTH or self.role.value == role


class Preparation(BaseModel):
    """What a program asks each role to go through, and whether before the first session."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    required: bool = Field(default=False, description="no session until both are prepared")
    modules: list[PreparationModule] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _unique_ids(self) -> Preparation:
        ids = [m.id for m in self.modules]
        if len(ids) != len(set(ids)):
            raise ValueError("each module needs its own id")
        return self

    def module(self, module_id: str) -> PreparationModule:
        for m in self.modules:
            if m.id == module_id:
                return m
        raise Rejected(f"this program has no preparation module {module_id}", field="module_id")


class PreparationRecord(Aggregate):
    """Which modules one person completed in one program, and when."""

    program_id: str
    participant_ref: str
    completed: dict[str, datetime] = Field(default_factory=dict)

    @staticmethod
    def key(program_id: str, ref: str) -> str:
        return f"{program_id}|{ref}"

    def complete(self, module: PreparationModule, answer: int, now: datetime) -> None:
        if not 0 <= answer < len(module.options):
            raise Rejected(f"choose one of the {len(module.options)} options", field="answer")
        if answer != module.answer:
            raise Rejected("not quite: read the module again and try once more", field="answer")
        if module.id in self.completed:
            return
        self.completed = {**self.completed, module.id: now}
        self.record(events.PreparationCompleted(self, module.id, now))


class Blocker(StrEnum):
    """What stands before a relationship's next session."""

    AGREEMENT = "agreement"  # no learning agreement agreed by both
    GROUND_RULES = "ground-rules"  # agreed before the rules changed
    PREPARATION = "preparation"  # required modules not completed


@dataclass(frozen=True)
class Readiness:
    """What a relationship still lacks before planning a session, as the program asks."""

    rules_version: int
    unprepared: list[str]  # the parties with required modules still to complete


def readiness(
    rules: GroundRules,
    preparation: Preparation,
    roles: Mapping[str, str],
    records: Mapping[str, PreparationRecord],
) -> Readiness:
    """`roles`: each party's role in the relationship; `records`: what they completed."""
    unprepared = []
    if preparation.required:
        for ref, role in roles.items():
            record = records.get(ref)
            done = set(record.completed) if record else set()
            if any(m.for_role(role) and m.id not in done for m in preparation.modules):
                unprepared.append(ref)
    return Readiness(rules.version, unprepared)
