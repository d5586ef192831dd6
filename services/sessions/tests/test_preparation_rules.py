"""The readiness rule on its own: which modules each role owes, and what a relationship
still lacks before a session (end to end in tests/test_preparation.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from telemachus.sessions.domain.preparation import (
    GroundRules,
    Preparation,
    PreparationModule,
    PreparationRecord,
    readiness,
)
from telemachus.shared.errors import Rejected

NOW = datetime(2026, 11, 30, 9, tzinfo=UTC)


def module(id: str, role: str) -> PreparationModule:
    return PreparationModule.model_validate(
        {
            "id": id,
            "role": role,
            "title": "A module",
            "question": "Why?",
            "options": ["a", "b"],
            "answer": 1,
        }
    )


PREPARATION = Preparation(
    required=True,
    modules=[module("upward", "mentor"), module("juniors", "mentee"), module("secrets", "both")],
)
ROLES = {"uni:junior": "mentor", "hosp:senior": "mentee"}


def done(ref: str, *ids: str) -> PreparationRecord:
    record = PreparationRecord(id=ref, program_id="p", participant_ref=ref)
    for i in ids:
        record.complete(PREPARATION.module(i), 1, NOW)
    return record


def test_each_role_owes_its_own_modules_and_the_shared_ones() -> None:
    rules = GroundRules()
    assert readiness(rules, PREPARATION, ROLES, {}).unprepared == list(ROLES)
    records = {"uni:junior": done("uni:junior", "upward", "secrets")}
    assert readiness(rules, PREPARATION, ROLES, records).unprepared == ["hosp:senior"]
    # The mentee's module does not count for the mentor.
    records = {"uni:junior": done("uni:junior", "juniors", "secrets")}
    assert "uni:junior" in readiness(rules, PREPARATION, ROLES, records).unprepared
    optional = PREPARATION.model_copy(update={"required": False})
    assert readiness(rules, optional, ROLES, {}).unprepared == []


def test_a_wrong_answer_completes_nothing() -> None:
    record = PreparationRecord(id="r", program_id="p", participant_ref="uni:junior")
    with pytest.raises(Rejected, match="not quite"):
        record.complete(PREPARATION.module("upward"), 0, NOW)
    with pytest.raises(Rejected, match="options"):
        record.complete(PREPARATION.module("upward"), 4, NOW)
    assert record.completed == {} and not record.pop_events()


def test_a_module_needs_an_answer_among_its_options_and_an_id_of_its_own() -> None:
    with pytest.raises(ValueError, match="answer"):
        PreparationModule.model_validate(
            {
                "id": "x1",
                "role": "both",
                "title": "A module",
                "question": "Why?",
                "options": ["a", "b"],
                "answer": 2,
            }
        )
    with pytest.raises(ValueError, match="own id"):
        Preparation(modules=[module("same", "both"), module("same", "mentor")])
