"""No session before the program's preparation and ground rules (issue 21), on the real
local broker and store.

A hospital leads a program with a university; its coordinators ask each role to prepare
before the first session and change the ground rules once. A university junior and a
hospital senior, confirmed as a pair, try to plan a session at each step."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from telemachus.cli.federation import Federation
from tests.test_privacy import Pair, confirmed_pair, three_sites
from tests.test_sessions import london, next_tuesday

MODULES: dict[str, Any] = {
    "required": True,
    "modules": [
        {
            "id": "feedback-upward",
            "role": "mentor",
            "title": "Giving feedback to someone senior",
            "links": ["https://learning.example/feedback-upward"],
            "question": "Your senior mentee misreads a result in the app. What do you do?",
            "options": ["Say nothing", "Show them, as you would a peer"],
            "answer": 1,
        },
        {
            "id": "learning-from-juniors",
            "role": "mentee",
            "title": "Learning from a junior colleague",
            "question": "Who leads the sessions on the topic?",
            "options": ["The junior mentor", "The senior mentee"],
            "answer": 0,
        },
        {
            "id": "confidentiality",
            "role": "both",
            "title": "What stays between you",
            "question": "May what is said be used in an appraisal?",
            "options": ["Yes", "No"],
            "answer": 1,
        },
    ],
}
TERMS = {"mentor_objectives": ["how a ward round runs"], "mentee_objectives": ["the app"]}


@pytest.fixture(scope="module")
async def pair(federation: Federation) -> AsyncIterator[Pair]:
    async with httpx.AsyncClient(timeout=60) as client:
        yield await confirmed_pair(await three_sites(federation, client), client)


async def test_no_session_before_preparation_and_the_current_ground_rules(pair: Pair) -> None:
    api, pid, rid = pair.sessions, pair.program["id"], pair.relationship_id
    lead = await api.coordinator(pair.hospital.id)
    partner = await api.coordinator(pair.university.id)
    junior, senior = await api.participant(pair.mentor), await api.participant(pair.mentee)

    # Only the lead's coordinators set them; a participant never sees the answers.
    refused = await api.call("PUT", f"/programs/{pid}/preparation", partner, json=MODULES)
    assert refused.status_code == 403
    await api.ok("PUT", f"/programs/{pid}/preparation", lead, json=MODULES)
    mine = await api.ok("GET", f"/programs/{pid}/preparation/me", junior)
    assert mine["required"] and len(mine["modules"]) == 3 and "answer" not in str(mine)
    rules = await api.ok("GET", f"/programs/{pid}/ground-rules", junior)
    assert rules["version"] == 1 and any("appraisal" in r for r in rules["rules"])

    # The learning agreement, agreed by both: it carries the rules' version.
    await api.ok("PUT", f"/relationships/{rid}/agreement", junior, json=TERMS)
    agreed = await api.ok(
        "POST", f"/relationships/{rid}/agreement/confirmations", senior, json={"revision": 1}
    )
    assert agreed["agreement"]["ground_rules_version"] == 1

    async def propose(who: dict[str, str]) -> httpx.Response:
        return await api.call(
            "POST",
            f"/relationships/{rid}/sessions",
            who,
            json={"starts_at": london(next_tuesday(1), 9), "format": "in-person", "place": "B2"},
        )

    async def readiness(who: dict[str, str]) -> list[dict[str, Any]]:
        rows = await api.ok("GET", f"/programs/{pid}/readiness", who)
        return [r for r in rows if r["relationship_id"] == rid]

    first = await propose(junior)
    assert first.status_code == 409 and "both of you have modules" in first.text, first.text
    [row] = await readiness(lead)
    assert not row["ready"] and row["blocker"] == "preparation"
    assert set(row["unprepared"]) == {pair.mentor["ref"], pair.mentee["ref"]}
    # The partner's coordinators see their own person's relationship too.
    assert await readiness(partner)

    # A wrong answer completes nothing, and says which field.
    wrong = await api.call(
        "POST", f"/programs/{pid}/preparation/feedback-upward", junior, json={"answer": 0}
    )
    assert wrong.status_code == 422 and "answer" in wrong.text
    for module, answer in (("feedback-upward", 1), ("confidentiality", 1)):
        await api.ok(
            "POST", f"/programs/{pid}/preparation/{module}", junior, json={"answer": answer}
        )
    still = await propose(junior)
    assert still.status_code == 409 and "the mentee has modules" in still.text, still.text
    for module, answer in (("learning-from-juniors", 0), ("confidentiality", 1)):
        await api.ok(
            "POST", f"/programs/{pid}/preparation/{module}", senior, json={"answer": answer}
        )
    planned = await propose(junior)
    assert planned.status_code < 300, planned.text
    session_id = planned.json()["sessions"][-1]["id"]

    # New ground rules: the session waits until both agree to them.
    changed = await api.ok(
        "PUT",
        f"/programs/{pid}/ground-rules",
        lead,
        json={"rules": [*rules["rules"], "We start and end on time."]},
    )
    assert changed["version"] == 2
    confirm = f"/relationships/{rid}/sessions/{session_id}/confirmation"
    waits = await api.call("POST", confirm, senior)
    assert waits.status_code == 409 and "ground rules changed" in waits.text, waits.text
    assert [r["blocker"] for r in await readiness(lead)] == ["ground-rules"]
    again = await api.ok("PUT", f"/relationships/{rid}/agreement", senior, json=TERMS)
    await api.ok(
        "POST",
        f"/relationships/{rid}/agreement/confirmations",
        junior,
        json={"revision": again["agreement"]["revision"]},
    )
    await api.ok("POST", confirm, senior)
    [row] = await readiness(lead)
    assert row["ready"] and row["reason"] is None and row["blocker"] is None

    # Integrators learn who completed what, and which rules an agreement acknowledged.
    events = await api.events()
    completed = [b for kind, b in events if kind == "preparation-completed"]
    assert {(b["participant_ref"], b["module_id"]) for b in completed} >= {
        (pair.mentor["ref"], "feedback-upward"),
        (pair.mentee["ref"], "learning-from-juniors"),
    }
    versions = [
        b["ground_rules_version"]
        for kind, b in events
        if kind == "agreement-confirmed" and b["relationship_id"] == rid
    ]
    assert versions[-1] == 2


async def test_bad_preparation_is_refused_by_field_and_changes_nothing(pair: Pair) -> None:
    api, pid = pair.sessions, pair.program["id"]
    lead = await api.coordinator(pair.hospital.id)
    before = await api.ok("GET", f"/programs/{pid}/preparation", lead)
    broken: dict[str, Any] = {
        "required": True,
        "modules": [{**MODULES["modules"][0], "answer": 7}],
    }
    refused = await api.call("PUT", f"/programs/{pid}/preparation", lead, json=broken)
    assert refused.status_code == 422 and "answer" in refused.text
    twice = {"required": True, "modules": [MODULES["modules"][0]] * 2}
    refused = await api.call("PUT", f"/programs/{pid}/preparation", lead, json=twice)
    assert refused.status_code == 422 and "own id" in refused.text
    assert await api.ok("GET", f"/programs/{pid}/preparation", lead) == before
