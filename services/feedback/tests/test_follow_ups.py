"""Evaluation beyond reactions (issue 21): a program's goals and levels, follow-ups months
after the end, and the report's change against the goals, on facts built by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from telemachus.feedback.domain import events
from telemachus.feedback.domain.evaluation_plan import EvaluationPlan, Goal, follow_up_opens
from telemachus.feedback.domain.instruments import BY_KEY, Level, Role, WindowKind
from telemachus.feedback.domain.model import (
    FeedbackWindow,
    Program,
    Relationship,
    RelationshipStatus,
    Response,
)
from telemachus.feedback.reporting import html
from telemachus.feedback.reporting.cells import Metric
from telemachus.feedback.reporting.evaluation import Evaluation, ProgramFacts
from telemachus.feedback.service_layer.publishing import to_wire
from telemachus.shared.contracts.feedback import (
    FeedbackWindowOpenedV1,
    FollowUpClosedV1,
    FollowUpDueV1,
    FollowUpOpenedV1,
)
from telemachus.shared.contracts.vocabulary import PairingMode
from telemachus.shared.errors import Conflict

ENDED = datetime(2026, 11, 30, tzinfo=UTC)
KNOWLEDGE = "mentee-outcomes.v1.current-knowledge"
PRACTICE = "mentee-follow-up.v1.changed-practice"


def relationship(i: int) -> Relationship:
    return Relationship(
        id=f"rel-{i}",
        program_id="hosp:prog01",
        mode=PairingMode.ASSIGNED,
        mentor_ref=f"uni:mentor{i:03}",
        mentee_ref=f"hosp:mentee{i:03}",
        topic="apps",
        starts_on=date(2026, 6, 1),
        status=RelationshipStatus.COMPLETED,
        finished_on=ENDED.date(),
    )


def answer(
    r: Relationship, kind: WindowKind, key: str, value: int, months: int | None = None
) -> Response:
    instrument = BY_KEY[key]
    return Response(
        id=f"{r.id}|{kind}|{months}|{key}",
        window_id=FeedbackWindow.id_for(r.id, kind, None, months),
        relationship_id=r.id,
        program_id=r.program_id,
        kind=kind,
        months_after_end=months,
        respondent_ref=r.mentee_ref,
        role=Role.MENTEE,
        instrument=key,
        answers=dict.fromkeys(instrument.item_ids(), value),
        submitted_at=ENDED,
    )


def follow_up(r: Relationship, months: int) -> FeedbackWindow:
    return FeedbackWindow.follow_up(
        r, months, opens_at=follow_up_opens(ENDED, months), length=timedelta(days=30)
    )


def test_a_follow_up_waits_for_its_day_then_opens_once_and_asks_what_lasted() -> None:
    window = follow_up(relationship(1), 3)
    # Three calendar months after 30 November is 28 February, not 2 March.
    assert window.opens_at == datetime(2027, 2, 28, tzinfo=UTC)
    assert window.id.endswith("_follow-up_3m") and not window.opened
    before = window.opens_at - timedelta(seconds=1)
    with pytest.raises(Conflict, match="opens at 2027-02-28"):
        window.require_open(before)
    window.remind(window.closes_at - timedelta(days=1), 3, set())
    window.close_if_due(window.closes_at + timedelta(days=1))  # not opened: not closed
    window.open_if_due(before)
    assert not window.has_events and not window.closed

    window.open_if_due(window.opens_at)
    window.open_if_due(window.opens_at + timedelta(days=1))
    assert [type(e) for e in window.pop_events()] == [events.FeedbackWindowOpened]
    window.require_open(window.opens_at)
    asked = [i.key for i in window.instruments_for("uni:mentor001")]
    assert asked == ["mentor-outcomes.v1", "mentor-follow-up.v1"]


def test_follow_ups_have_their_own_events_and_other_windows_keep_theirs() -> None:
    window = follow_up(relationship(1), 6)
    window.open_if_due(window.opens_at)
    [opened] = [to_wire(e) for e in window.pop_events()]
    assert isinstance(opened, FollowUpOpenedV1) and opened.months_after_end == 6
    window.remind(window.closes_at - timedelta(days=1), 3, set())
    window.close_if_due(window.closes_at)
    later = [to_wire(e) for e in window.pop_events()]
    assert [type(e) for e in later] == [FollowUpDueV1, FollowUpDueV1, FollowUpClosedV1]
    final = FeedbackWindow.open(
        relationship(1), WindowKind.FINAL, now=ENDED, length=timedelta(days=21)
    )
    [wire] = [to_wire(e) for e in final.pop_events()]
    assert isinstance(wire, FeedbackWindowOpenedV1)


@pytest.mark.parametrize(
    ("plan", "field", "reason"),
    [
        ({"levels": ["learning"]}, "levels", "reaction is always evaluated"),
        ({"follow_up_months": [3, 30]}, "follow_up_months", "between 1 and 24"),
        ({"follow_up_months": [3, 3]}, "follow_up_months", "given twice"),
        ({"follow_up_months": []}, "follow_up_months", "behaviour and results"),
        (
            {"goals": [{"key": "k", "statement": "Know", "level": "learning", "measures": ["x"]}]},
            "goals.0.measures",
            "not an instrument item",
        ),
        (
            {
                "goals": [
                    {"key": "k", "statement": "Use", "level": "learning", "measures": [PRACTICE]}
                ]
            },
            "goals.0",
            "measures behaviour, not learning",
        ),
        (
            {
                "levels": ["reaction", "learning"],
                "goals": [
                    {"key": "k", "statement": "Use", "level": "behaviour", "measures": [PRACTICE]}
                ],
            },
            "goals",
            "levels leave out",
        ),
    ],
)
def test_a_plan_that_cannot_be_evaluated_is_refused_naming_the_field(
    plan: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        EvaluationPlan.model_validate(plan)
    [error] = refused.value.errors()
    where = ".".join(str(part) for part in error["loc"])
    assert where == field or error["msg"].startswith(f"Value error, {field}:"), error
    assert reason in error["msg"]


def _metric(report: Any, metric_id: str) -> Metric:
    return next(m for s in report.sections for m in s.metrics if m.id == metric_id)


def test_the_report_shows_change_against_each_goal_at_each_follow_up_suppressed_when_few() -> None:
    plan = EvaluationPlan(
        goals=[
            Goal(
                key="current",
                statement="Seniors are up to date with their topic",
                level=Level.LEARNING,
                measures=[KNOWLEDGE],
                target=1.0,
            ),
            Goal(
                key="practice",
                statement="Seniors change how they work",
                level=Level.BEHAVIOUR,
                measures=[PRACTICE],
                target=4.5,
            ),
        ]
    )
    program = Program(id="hosp:prog01", title="Apps", partner_institutions=["uni"], evaluation=plan)
    rs = [relationship(i) for i in range(6)]
    outcomes, follow = "mentee-outcomes.v1", "mentee-follow-up.v1"
    responses = [answer(r, WindowKind.BASELINE, outcomes, 2) for r in rs]
    responses += [answer(r, WindowKind.FINAL, outcomes, 4) for r in rs]
    # Three months on, all six answer; six months on, only four (fewer than k = 5).
    responses += [answer(r, WindowKind.FOLLOW_UP, outcomes, 3, 3) for r in rs]
    responses += [answer(r, WindowKind.FOLLOW_UP, follow, 4, 3) for r in rs]
    responses += [answer(r, WindowKind.FOLLOW_UP, follow, 5, 6) for r in rs[:4]]
    facts = ProgramFacts(program, [], [], rs, responses, [])
    report = Evaluation(facts).report(ENDED)

    at_end = _metric(report, "goal.current.at-the-end")
    assert at_end.total.value == 2.0 and at_end.target == 1.0 and at_end.met is True
    kept = _metric(report, "goal.current.3-months")
    assert kept.total.value == 1.0 and kept.total.n == 6 and kept.met is True
    practice = _metric(report, "goal.practice.3-months")
    assert practice.total.value == 4.0 and practice.met is False
    late = _metric(report, "goal.practice.6-months")
    assert late.total.suppressed and late.total.value is None and late.met is None
    page = html.render(report)
    assert "<strong>reached</strong>" in page and "<strong>not reached</strong>" in page

    assert _metric(report, "mentee-outcomes.v1.change-3m").total.value == 1.0
    assert _metric(report, f"{follow}.3m").total.value == 4.0
    assert _metric(report, f"{follow}.6m").total.suppressed
    section = next(s for s in report.sections if s.id == "goals")
    assert all(m.confidential for m in section.metrics)
