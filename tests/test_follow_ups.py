"""Evaluation beyond reactions (issue 21), on the real local broker and store: a program
states its goals and Kirkpatrick levels, and months after a relationship ends both people
are asked again what lasted at work.

A hospital leads a program with a university and a research centre; a university junior
mentors a hospital senior. The senior leaves the relationship early; its follow-ups are
scheduled for 3 and 6 months later, open on their day (not before), reach both people by
e-mail through their own institutions, and feed the report's goals."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
from dateutil.relativedelta import relativedelta

from telemachus.cli.federation import Federation
from telemachus.feedback.domain import commands
from telemachus.feedback.service_layer.handlers import FeedbackHandlers
from telemachus.feedback.service_layer.publishing import to_wire
from telemachus.feedback.service_layer.unit_of_work import (
    RELATIONSHIPS,
    WINDOWS,
    FeedbackUnitOfWork,
)
from telemachus.shared.clock import Clock, utc_now
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.documents import stamp
from telemachus.shared.testing.kafka import eventually
from tests.test_notifications import mail_to, text_of
from tests.test_privacy import Pair, confirmed_pair, three_sites

PLAN = {
    "levels": ["reaction", "learning", "behaviour", "results"],
    "follow_up_months": [6, 3],
    "goals": [
        {
            "key": "current",
            "statement": "Seniors are up to date with the topic they chose",
            "level": "learning",
            "measures": ["mentee-outcomes.v1.current-knowledge"],
            "target": 1,
        },
        {
            "key": "practice",
            "statement": "Seniors change how they work",
            "level": "behaviour",
            "measures": ["mentee-follow-up.v1.changed-practice"],
            "target": 4,
        },
    ],
}


async def sweep(federation: Federation, institution: str, clock: Clock = utc_now) -> None:
    """What feedback's periodic sweep does, run now, at the time `clock` says."""
    runtime = federation.runtime(institution, "feedback")
    await MessageBus(
        runtime.unit_of_work_factory(FeedbackUnitOfWork, to_wire),
        FeedbackHandlers(institution, clock=clock).handlers(),
        runtime.telemetry.tracer,
    ).handle(commands.Sweep())


async def test_follow_ups_open_months_after_the_end_on_their_day_and_feed_the_goals(
    federation: Federation, mail_server: Any
) -> None:
    async with httpx.AsyncClient(timeout=60) as client:
        pair: Pair = await confirmed_pair(await three_sites(federation, client), client)
        await _follow_the_relationship(pair, federation, mail_server)


async def _follow_the_relationship(pair: Pair, federation: Federation, mail_server: Any) -> None:
    api, hospital, university = pair.feedback, pair.hospital.id, pair.university.id
    pid, rid = pair.program["id"], pair.relationship_id
    lead = await api.coordinator(hospital)

    # A plan that cannot be evaluated is refused, naming why, and changes nothing.
    wrong = {**PLAN, "goals": [{**PLAN["goals"][1], "level": "learning"}]}  # type: ignore[index]
    refused = await api.call("PUT", f"/programs/{pid}/evaluation-plan", lead, json=wrong)
    assert refused.status_code == 422 and "measures behaviour, not learning" in refused.text
    assert (await api.ok("GET", f"/programs/{pid}/evaluation-plan", lead))["goals"] == []
    partner = await api.coordinator(university)
    denied = await api.call("PUT", f"/programs/{pid}/evaluation-plan", partner, json=PLAN)
    assert denied.status_code == 403  # the lead's coordinators set it
    plan = await api.ok("PUT", f"/programs/{pid}/evaluation-plan", lead, json=PLAN)
    assert plan["follow_up_months"] == [3, 6]
    assert (await api.ok("GET", f"/programs/{pid}/evaluation-plan", partner)) == plan

    mentee = await api.participant(pair.mentee)
    await pair.sessions.ok(
        "POST", f"/relationships/{rid}/exit", mentee, json={"reason": "schedule", "rematch": False}
    )

    async def follow_ups() -> list[dict[str, Any]]:
        windows = await api.ok("GET", f"/programs/{pid}/feedback-windows", lead)
        return sorted(
            (w for w in windows if w["kind"] == "follow-up"), key=lambda w: w["months_after_end"]
        )

    three, six = await eventually(follow_ups, within=60)
    stored = await federation.runtime(hospital, "feedback").db[RELATIONSHIPS].find_one({"_id": rid})
    assert stored is not None
    ended = datetime.combine(date.fromisoformat(stored["finished_on"]), time(), UTC)
    for window, months in ((three, 3), (six, 6)):
        assert window["months_after_end"] == months and window["opened"] is False
        assert datetime.fromisoformat(window["opens_at"]) == ended + relativedelta(months=months)
        assert datetime.fromisoformat(window["closes_at"]) == ended + relativedelta(
            months=months, days=30
        )

    # Not before its day: the person does not see it, cannot answer it, the sweep leaves it.
    assert three["id"] not in await _my_windows(api, mentee)
    early = await api.call(
        "PUT",
        f"/windows/{three['id']}/answers/mentee-follow-up.v1",
        mentee,
        json={"answers": dict.fromkeys(FOLLOW_UP_ITEMS, 4)},
    )
    assert early.status_code == 409 and "opens at" in early.text
    day = datetime.fromisoformat(three["opens_at"])
    await sweep(federation, hospital, clock=lambda: day - timedelta(seconds=1))
    assert [w["opened"] for w in await follow_ups()] == [False, False]

    # Three months pass (the window's dates moved back by that much, in their stored form).
    gone_by = day - utc_now() + timedelta(minutes=1)
    await (
        federation.runtime(hospital, "feedback")
        .db[WINDOWS]
        .update_one(
            {"_id": three["id"]},
            {
                "$set": {
                    "opens_at": stamp(day - gone_by),
                    "closes_at": stamp(datetime.fromisoformat(three["closes_at"]) - gone_by),
                }
            },
        )
    )
    await sweep(federation, hospital)
    assert [w["opened"] for w in await follow_ups()] == [True, False]
    opened = [b for kind, b in await api.events() if kind == "follow-up-opened"]
    assert [(b["window_id"], b["months_after_end"]) for b in opened] == [(three["id"], 3)]

    # Both people hear of it from their own institution, in words, with no one's answers.
    async def told() -> list[Any]:
        found = [
            m
            for person in (pair.mentor, pair.mentee)
            for m in mail_to(mail_server, person["work_email"])
            if m["X-Telemachus-Notice"] == "follow-up-open"
        ]
        return found if len(found) == 2 else []

    for mail in await eventually(told, within=60):
        assert "3 months" in str(mail["Subject"]) and "still do differently" in text_of(mail)

    assert three["id"] in await _my_windows(api, mentee)
    for instrument, value in (("mentee-follow-up.v1", 5), ("mentee-outcomes.v1", 4)):
        items = FOLLOW_UP_ITEMS if instrument.startswith("mentee-follow") else OUTCOME_ITEMS
        await api.ok(
            "PUT",
            f"/windows/{three['id']}/answers/{instrument}",
            mentee,
            json={"answers": dict.fromkeys(items, value)},
        )
    # The junior's answers are theirs; the senior cannot answer the junior's instrument.
    not_theirs = await api.call(
        "PUT",
        f"/windows/{three['id']}/answers/mentor-follow-up.v1",
        mentee,
        json={"answers": {"speaks-up": 4}},
    )
    assert not_theirs.status_code == 422 and "instrument" in not_theirs.text

    report = await api.ok("GET", f"/programs/{pid}/report", lead)
    goals = {m["id"]: m for s in report["sections"] if s["id"] == "goals" for m in s["metrics"]}
    assert set(goals) == {
        "goal.current.at-the-end",
        "goal.current.3-months",
        "goal.current.6-months",
        "goal.practice.3-months",
        "goal.practice.6-months",
    }
    # One relationship is fewer than the program's threshold: shown as suppressed, never
    # as this senior's answer, and whether the target was met is not said either.
    practice = goals["goal.practice.3-months"]
    assert practice["target"] == 4 and practice["total"]["suppressed"] and practice["met"] is None


FOLLOW_UP_ITEMS = [
    "uses-learning",
    "changed-practice",
    "involves-juniors",
    "team-benefit",
    "passed-on",
]
OUTCOME_ITEMS = [
    "enthusiasm",
    "workplace-insight",
    "current-knowledge",
    "opens-networks",
    "social-capital",
]


async def _my_windows(api: Any, who: dict[str, str]) -> list[str]:
    return [w["window"]["id"] for w in await api.ok("GET", "/feedback/me", who)]
