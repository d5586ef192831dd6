"""The evaluation plan form: what the page sends becomes the plan the feedback service
takes, and each problem names its field without losing what was typed."""

from __future__ import annotations

from dataclasses import replace

from telemachus.portal.domain.evaluation_form import PlanForm, key_for, plan_from, where_refused

CURRENT = {
    "levels": ["reaction", "learning"],
    "goals": [
        {
            "key": "records-confidence",
            "statement": "Seniors use online records with confidence",
            "level": "learning",
            "measures": ["mentee-outcomes.v1.current-knowledge"],
            "target": 0.5,
        }
    ],
    "follow_up_months": [3, 6],
    "follow_up_days": 30,
}
FORM = PlanForm(
    levels=["learning", "behaviour"],
    months="3, 9",
    days="21",
    remove=[],
    statement="Juniors feel heard by seniors",
    level="reaction",
    measures=["mentor-attributes.v1.listens"],
    target="4,2",
)


def test_a_filled_form_adds_a_goal_and_keeps_the_others() -> None:
    plan, errors = plan_from(CURRENT, FORM)
    assert errors == {}
    assert plan["levels"] == ["reaction", "learning", "behaviour"]  # reaction always
    assert (plan["follow_up_months"], plan["follow_up_days"]) == ([3, 9], 21)
    assert [g["key"] for g in plan["goals"]] == [
        "records-confidence",
        "juniors-feel-heard-by-seniors",
    ]
    assert plan["goals"][1]["target"] == 4.2 and plan["goals"][1]["level"] == "reaction"


def test_a_goal_is_taken_out_and_no_goal_is_added_from_an_empty_goal() -> None:
    empty = replace(FORM, remove=["records-confidence"], statement="", measures=[], target="")
    plan, errors = plan_from(CURRENT, empty)
    assert errors == {} and plan["goals"] == []


def test_each_problem_names_its_field() -> None:
    _, errors = plan_from(CURRENT, replace(FORM, months="three", days="a month", target="high"))
    assert set(errors) == {"follow_up_months", "follow_up_days", "target"}
    _, errors = plan_from(CURRENT, replace(FORM, statement="", level="sideways"))
    assert set(errors) == {"statement", "goal_level"}
    _, errors = plan_from(CURRENT, replace(FORM, measures=[]))
    assert set(errors) == {"measures"}


def test_keys_are_short_unique_names() -> None:
    assert (
        key_for("Seniors use online records with confidence", [])
        == "seniors-use-online-records-with-conf"
    )
    assert key_for("Records!", ["records"]) == "records-2"
    assert key_for("2026 cohort", []) == "goal-2026-cohort"


def test_a_refusal_of_the_service_is_shown_where_it_belongs() -> None:
    assert where_refused("goals.1.measures") == "goal"
    assert where_refused("follow_up_months") == "follow_up_months"
    assert where_refused(None) == "goal"
