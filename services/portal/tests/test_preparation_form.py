"""The preparation form: a module added as the coordinator typed it, the right answer by
its number from 1, and each problem named by its field."""

from __future__ import annotations

from dataclasses import replace

from telemachus.portal.domain.preparation_form import ModuleForm, preparation_from, where_refused

CURRENT = {
    "required": False,
    "modules": [
        {
            "id": "confidentiality",
            "role": "both",
            "title": "What stays between you",
            "links": [],
            "question": "May what is said be used in an appraisal?",
            "options": ["Yes", "No"],
            "answer": 1,
        }
    ],
}
FORM = ModuleForm(
    required=True,
    remove=[],
    title="Giving feedback upward",
    role="mentor",
    links="https://learning.example/upward\n\n",
    question="Your senior misreads a result. What do you do?",
    options="Say nothing\nShow them, as you would a peer\n",
    answer="2",
)


def test_a_module_is_added_as_typed() -> None:
    body, errors = preparation_from(CURRENT, FORM)
    assert errors == {} and body["required"] is True
    added = body["modules"][-1]
    assert added == {
        "id": "giving-feedback-upward",
        "role": "mentor",
        "title": "Giving feedback upward",
        "links": ["https://learning.example/upward"],
        "question": "Your senior misreads a result. What do you do?",
        "options": ["Say nothing", "Show them, as you would a peer"],
        "answer": 1,
    }
    kept = body["modules"][0]
    assert (kept["id"], kept["answer"]) == ("confidentiality", 1)  # kept, with its answer


def test_a_module_is_taken_out_and_an_empty_one_adds_nothing() -> None:
    empty = ModuleForm(False, ["confidentiality"], "", "mentor", "", "", "", "")
    assert preparation_from(CURRENT, empty) == ({"required": False, "modules": []}, {})


def test_each_problem_names_its_field() -> None:
    _, errors = preparation_from(CURRENT, replace(FORM, options="Only one", answer="3"))
    assert set(errors) == {"options", "answer"}
    _, errors = preparation_from(CURRENT, replace(FORM, title="", role="everyone", question=""))
    assert set(errors) == {"title", "role", "question"}
    assert (
        where_refused("modules.1.links.0") == "module" and where_refused("required") == "required"
    )
