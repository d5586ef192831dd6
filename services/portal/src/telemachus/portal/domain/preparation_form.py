"""A program's preparation as its lead coordinator sets it on a page: whether it comes
before the first session, and its modules, one added at a time (a title, for whom, links to
read, a question and its options, which one is right). Checked here field by field; the
sessions service checks the rest and its reason is shown beside the new module."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from telemachus.portal.domain.names import short_name
from telemachus.portal.domain.profile_form import N_, Problem

ROLES = ("mentor", "mentee", "both")
Json = dict[str, Any]


@dataclass(frozen=True)
class ModuleForm:
    required: bool
    remove: Sequence[str]  # ids of modules to take out
    title: str
    role: str
    links: str  # one per line
    question: str
    options: str  # one per line
    answer: str  # the right option's number, from 1


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def preparation_from(current: Json, form: ModuleForm) -> tuple[Json, dict[str, Problem]]:
    errors: dict[str, Problem] = {}
    modules = [m for m in current.get("modules", []) if m["id"] not in set(form.remove)]
    title = form.title.strip()
    if title or form.question.strip() or form.options.strip():
        options = _lines(form.options)
        if len(title) < 3:
            errors["title"] = Problem(N_("Give the module a title."))
        if form.role not in ROLES:
            errors["role"] = Problem(N_("Choose who the module is for."))
        if len(form.question.strip()) < 3:
            errors["question"] = Problem(N_("Ask a question that checks the reading."))
        if not 2 <= len(options) <= 6:
            errors["options"] = Problem(N_("Give two to six answers, one per line."))
        answer = form.answer.strip()
        if not answer.isdigit() or not 1 <= int(answer) <= max(len(options), 1):
            errors["answer"] = Problem(N_("Give the number of the right answer, from 1."))
        if not errors:
            modules.append(
                {
                    "id": short_name(title, [m["id"] for m in modules], fallback="module"),
                    "role": form.role,
                    "title": title,
                    "links": _lines(form.links),
                    "question": form.question.strip(),
                    "options": options,
                    "answer": int(answer) - 1,
                }
            )
    return {"required": form.required, "modules": modules}, errors


def where_refused(field: str | None) -> str:
    """A module's problems beside the new module; the others beside their field."""
    if not field or field.startswith("modules"):
        return "module"
    return field.split(".")[0]
