"""Sessions through its HTTP API and its events, on the real local broker and store.

A hospital leads a program; a university's junior mentors a hospital senior. The pairing
is confirmed on the hospital's pairing topic; everything after runs in sessions.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import icalendar
from opentelemetry import trace
from pymongo import AsyncMongoClient

from telemachus.cli.federation import Federation
from telemachus.sessions.domain import commands
from telemachus.sessions.domain.model import Attendance
from telemachus.sessions.service_layer.handlers import SessionsHandlers
from telemachus.sessions.service_layer.publishing import to_wire
from telemachus.sessions.service_layer.unit_of_work import RELATIONSHIPS, SessionsUnitOfWork
from telemachus.shared.contracts.pairing import PairingConfirmedV1
from telemachus.shared.contracts.topics import event_topic
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.inbox import InboxEntry
from telemachus.shared.runtime.outbox import Publication
from telemachus.shared.runtime.store import Document
from telemachus.shared.security.tokens import Principal, Role
from telemachus.shared.testing.backends import Backend
from telemachus.shared.testing.kafka import eventually, produce_event
from tests.helpers.lead_api import LeadApi
from tests.helpers.sites import Site, enrol, known_at, publish_program, signed
from tests.helpers.store_reads import Finds

CONSENT = ["profession", "career_stage", "topics_offered", "topics_sought", "availability"]
LONDON_TUESDAYS = {
    "time_zone": "Europe/London",
    "slots": [{"day": "tue", "start": "08:00", "end": "12:00"}],
}
NEW_YORK_TUESDAYS = {
    "time_zone": "America/New_York",
    "slots": [{"day": "tue", "start": "03:00", "end": "08:00"}],
}


def next_tuesday(weeks: int) -> date:
    today = datetime.now(UTC).date()
    return today + timedelta(days=(1 - today.weekday()) % 7 + 7 * weeks)


def london(day: date, hour: int) -> str:
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo("Europe/London")).isoformat()


async def confirm_pairing(
    federation: Federation,
    lead: Site,
    program: dict[str, Any],
    mentor: dict[str, Any],
    mentee: dict[str, Any],
    planned_sessions: int,
    times: int = 1,
) -> str:
    event = PairingConfirmedV1(
        pairing_id=f"pairing_{secrets.token_hex(4)}",
        program_id=program["id"],
        mode="assigned",
        mentor_ref=mentor["ref"],
        mentee_ref=mentee["ref"],
        topic="e-medicine",
        relationship_weeks=12,
        planned_sessions=planned_sessions,
        confirmed_at=datetime.now(UTC),
    )
    topic = event_topic(lead.id, "pairing")
    headers = signed(federation, event, topic)
    for _ in range(times):  # a redelivery carries the same CloudEvents id
        await produce_event(federation.kafka_bootstrap_servers, topic, event, headers)
    return f"relationship_{event.pairing_id}"


async def test_a_relationship_from_pairing_to_completion_and_another_to_a_no_fault_exit(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    hospital, university, _ = sites
    program = await publish_program(hospital, [university.id])
    await known_at(university, program["id"])
    senior = await hospital.register(
        profession="medicine",
        career_stage=5,
        topics_offered=[],
        topics_sought=[{"topic": "e-medicine", "priority": 5}],
        availability=LONDON_TUESDAYS,
    )
    junior = await university.register(availability=NEW_YORK_TUESDAYS)
    other_senior = await hospital.register(
        profession="pharmacy",
        career_stage=4,
        topics_offered=[],
        topics_sought=[{"topic": "e-medicine", "priority": 3}],
        availability=LONDON_TUESDAYS,
    )
    for site, person in ((hospital, senior), (university, junior), (hospital, other_senior)):
        await enrol(site, person, program, CONSENT)
    async with httpx.AsyncClient(timeout=60) as client:
        api = LeadApi(federation, hospital, client, "sessions")
        mentor, mentee = await api.participant(junior), await api.participant(senior)
        lead = await api.coordinator(hospital.id)

        rid = await confirm_pairing(federation, hospital, program, junior, senior, 2, times=2)
        exit_rid = await confirm_pairing(federation, hospital, program, junior, other_senior, 4)

        async def both_open() -> list[Any]:
            found = await api.call("GET", f"/programs/{program['id']}/relationships", lead)
            return found.json() if found.status_code == 200 and len(found.json()) == 2 else []

        await eventually(both_open)
        started = [e for k, e in await api.events() if k == "relationship-started"]
        # The redelivered PairingConfirmed opened one relationship, not two.
        assert [e["relationship_id"] for e in started].count(rid) == 1

        # The learning agreement: objectives on both sides, confirmed by both.
        terms = {"mentor_objectives": ["how a ward round runs"], "mentee_objectives": ["apps"]}
        await api.ok("PUT", f"/relationships/{rid}/agreement", mentor, json=terms)
        early = await api.call(
            "POST",
            f"/relationships/{rid}/sessions",
            mentor,
            json={
                "starts_at": london(next_tuesday(1), 9),
                "format": "virtual",
                "link": "https://meet.example/a",
            },
        )
        assert early.status_code == 409 and "agreement" in early.text
        await api.ok(
            "POST", f"/relationships/{rid}/agreement/confirmations", mentee, json={"revision": 1}
        )

        # Sessions inside both availabilities; clear errors outside them.
        outside = await api.call(
            "POST",
            f"/relationships/{rid}/sessions",
            mentor,
            json={
                "starts_at": london(next_tuesday(1), 13),
                "format": "virtual",
                "link": "https://meet.example/a",
            },
        )
        assert outside.status_code == 422 and outside.json()["field"] == "starts_at"
        ids = []
        for week in (1, 2, 3):
            r = await api.ok(
                "POST",
                f"/relationships/{rid}/sessions",
                mentor,
                json={
                    "starts_at": london(next_tuesday(week), 9),
                    "format": "in-person",
                    "place": "Library, room 2",
                },
            )
            ids.append(r["sessions"][-1]["id"])
            await api.ok("POST", f"/relationships/{rid}/sessions/{ids[-1]}/confirmation", mentee)
        await api.ok(
            "POST",
            f"/relationships/{rid}/sessions/{ids[0]}/reschedule",
            mentee,
            json={"starts_at": london(next_tuesday(1), 10), "minutes": 45},
        )
        await api.ok("POST", f"/relationships/{rid}/sessions/{ids[0]}/confirmation", mentor)

        # The calendar: a secret URL per person, parsed by a standard iCalendar parser, in
        # the person's own zone (their shared availability's) with its VTIMEZONE.
        link = (await api.ok("POST", "/calendar/me", mentee))["url"]
        feed = await client.get(link)
        assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
        assert "DTSTART;TZID=Europe/London:" in feed.text and "BEGIN:VTIMEZONE" in feed.text
        parsed = icalendar.Calendar.from_ical(feed.text)
        starts = sorted(e.decoded("dtstart") for e in parsed.walk("VEVENT"))
        assert [(s.hour, str(s.tzinfo)) for s in starts] == [(10, "Europe/London")] + [
            (9, "Europe/London")
        ] * 2
        assert junior["ref"] not in feed.text  # words, not the other person's code
        # Polled again with its ETag and nothing changed: 304, no body to parse again.
        again = await client.get(link, headers={"If-None-Match": feed.headers["etag"]})
        assert again.status_code == 304 and not again.content
        chosen = (
            await api.ok("POST", "/calendar/me", mentee, json={"time_zone": "America/New_York"})
        )["url"]
        assert "DTSTART;TZID=America/New_York:" in (await client.get(chosen)).text
        assert (await client.get(link)).status_code == 404  # the new link replaced it
        wrong = await api.call("POST", "/calendar/me", mentee, json={"time_zone": "Mars/Olympus"})
        assert wrong.status_code == 422 and "time_zone" in wrong.text
        link = chosen
        assert (
            await client.request("DELETE", api.url + "/calendar/me", headers=mentee)
        ).status_code == 204
        assert (await client.get(link)).status_code == 404

        # Afterwards (a bus with a clock a month ahead, on the same store and outbox).
        runtime = federation.runtime(hospital.id, "sessions")
        later = MessageBus(
            runtime.unit_of_work_factory(SessionsUnitOfWork, to_wire),
            SessionsHandlers(
                hospital.id, clock=lambda: datetime.now(UTC) + timedelta(days=30)
            ).handlers(),
            runtime.telemetry.tracer,
        )
        who = {
            "mentor": Principal(
                university.id, junior["subject"], frozenset({Role.PARTICIPANT}), junior["ref"]
            ),
            "mentee": Principal(
                hospital.id, senior["subject"], frozenset({Role.PARTICIPANT}), senior["ref"]
            ),
        }
        plan = [
            ("mentor", ids[0], Attendance.HELD, "she learned fast"),
            ("mentee", ids[0], Attendance.HELD, None),
            ("mentee", ids[1], Attendance.MISSED, "clinic overran"),
            ("mentor", ids[2], Attendance.HELD, None),
            ("mentee", ids[2], Attendance.HELD, None),
        ]
        for side, session_id, attended, note in plan:
            await later.handle(
                commands.RecordAttendance(
                    principal=who[side],
                    relationship_id=rid,
                    session_id=session_id,
                    attended=attended,
                    note=note,
                )
            )

        # Private notes: the author reads theirs; the other party and coordinators cannot.
        assert [
            n["text"] for n in await api.ok("GET", f"/relationships/{rid}/notes/me", mentor)
        ] == ["she learned fast"]
        assert [
            n["text"] for n in await api.ok("GET", f"/relationships/{rid}/notes/me", mentee)
        ] == ["clinic overran"]
        coordinator_notes = await api.call("GET", f"/relationships/{rid}/notes/me", lead)
        assert coordinator_notes.status_code == 403
        shown = await api.ok("GET", f"/relationships/{rid}", lead)
        assert "clinic overran" not in json.dumps(shown) and shown["status"] == "completed"

        # The second relationship ends early, without blame, and the junior asks for a rematch.
        other_mentee = await api.participant(other_senior)
        await api.ok(
            "POST", f"/relationships/{exit_rid}/exit", mentor, json={"reason": "discomfort"}
        )
        seen_by_other = await api.ok("GET", f"/relationships/{exit_rid}", other_mentee)
        assert seen_by_other["status"] == "ended" and "discomfort" not in json.dumps(seen_by_other)
        # One exit is a group of one: no reason is shown, not even as a zero beside it.
        exits = await api.ok("GET", f"/programs/{program['id']}/exits", lead)
        assert exits["reasons"]["discomfort"] is None
        assert set(exits["reasons"].values()) == {None}
        partner_counts = await api.call(
            "GET", f"/programs/{program['id']}/exits", await api.coordinator(university.id)
        )
        assert partner_counts.status_code == 403
        assert (
            await api.call("GET", f"/programs/{program['id']}/exits", other_mentee)
        ).status_code == 403
        stranger = await api.call("GET", f"/relationships/{rid}", other_mentee)
        assert stranger.status_code == 403
        ended_again = await api.call(
            "POST",
            f"/relationships/{exit_rid}/sessions",
            mentor,
            json={
                "starts_at": london(next_tuesday(2), 9),
                "format": "virtual",
                "link": "https://meet.example/a",
            },
        )
        assert ended_again.status_code == 409

        # Feedback follows the real sessions: a check-in window per session held, and a
        # final window for the completed relationship and for the one ended early, with
        # its follow-ups scheduled for 3 and 6 months later.
        feedback = federation.url(hospital.id, "feedback")

        async def feedback_windows() -> list[tuple[str, str]]:
            found = await client.get(
                f"{feedback}/programs/{program['id']}/feedback-windows", headers=lead
            )
            windows = sorted(
                (w["relationship_id"], w["kind"])
                for w in (found.json() if found.status_code == 200 else [])
            )
            return windows if len(windows) == 10 else []

        assert await eventually(feedback_windows) == sorted(
            [
                (rid, "baseline"),
                (rid, "check-in"),
                (rid, "check-in"),
                (rid, "final"),
                (rid, "follow-up"),
                (rid, "follow-up"),
                (exit_rid, "baseline"),
                (exit_rid, "final"),
                (exit_rid, "follow-up"),
                (exit_rid, "follow-up"),
            ]
        )

        async def all_published() -> list[str]:
            kinds = [
                k for k, e in await api.events() if e.get("relationship_id") in (rid, exit_rid)
            ]
            return (
                kinds if "rematch-requested" in kinds and "relationship-completed" in kinds else []
            )

        kinds = await eventually(all_published)
        assert sorted(kinds) == sorted(
            ["relationship-started"] * 2
            + [
                "agreement-confirmed",
                "session-scheduled",
                "session-scheduled",
                "session-scheduled",
                "session-rescheduled",
                "session-held",
                "session-missed",
                "session-held",
                "relationship-completed",
                "relationship-ended",
                "rematch-requested",
            ]
        )
        published = dict(
            (k, e) for k, e in await api.events() if e.get("relationship_id") == exit_rid
        )
        assert published["rematch-requested"]["participant_ref"] == junior["ref"]
        assert "reason" not in published["relationship-ended"]

        # The senior leaves the program at home: their open relationship ends and their
        # private notes are erased.
        third = await confirm_pairing(federation, hospital, program, junior, senior, 4)

        async def third_open() -> bool:
            return (await api.call("GET", f"/relationships/{third}", mentee)).status_code == 200

        await eventually(third_open)
        left = await hospital.withdraw(senior, program["id"])
        assert left.status_code < 300, left.text

        async def ended_by_withdrawal() -> bool:
            shown = await api.ok("GET", f"/relationships/{third}", lead)
            return bool(shown["status"] == "ended")

        await eventually(ended_by_withdrawal)
        assert await api.ok("GET", f"/relationships/{rid}/notes/me", mentee) == []
        assert len(await api.ok("GET", f"/relationships/{rid}/notes/me", mentor)) == 1
        withdrawn = [e for k, e in await api.events() if k == "relationship-ended"]
        assert {e["relationship_id"]: e["withdrawn"] for e in withdrawn}[third] is True


async def test_a_batch_of_confirmations_asks_once_whether_each_is_open(backend: Backend) -> None:
    """A round's confirmations reach sessions together: one read tells which are open
    already (a redelivery opens nothing more), however many the batch holds."""
    finds = Finds(RELATIONSHIPS)
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        backend.mongodb_uri, event_listeners=[finds]
    )
    db = client[f"sessions-batch-{secrets.token_hex(3)}"]
    publication = Publication("telemachus.inst-a.sessions", "/telemachus/inst-a/sessions")
    bus = MessageBus(
        lambda: SessionsUnitOfWork(client, db, publication, lambda: None, to_wire),
        SessionsHandlers("inst-a").handlers(),
        trace.get_tracer(__name__),
        prefetch=SessionsHandlers.prefetches(),
    )

    def confirmed(n: int) -> commands.OpenRelationship:
        return commands.OpenRelationship(
            pairing_id=f"pairing_{n}",
            program_id="inst-a:program",
            mode="assigned",
            mentor_ref=f"inst-a:mentor-{n}",
            mentee_ref=f"inst-a:mentee-{n}",
            topic="apps",
            starts_on=date(2026, 12, 1),
            weeks=12,
            planned_sessions=6,
        )

    try:
        await bus.handle_batch([(confirmed(n), InboxEntry(f"e{n}")) for n in range(4)])
        assert finds.count == 1
        # Two confirmations seen before, published again under new ids, and two new ones.
        await bus.handle_batch([(confirmed(n), InboxEntry(f"again{n}")) for n in range(2, 6)])
        assert finds.count == 2
        documents = await db[RELATIONSHIPS].find().to_list(None)
    finally:
        await client.close()
    assert sorted(d["pairing_id"] for d in documents) == [f"pairing_{n}" for n in range(6)]
