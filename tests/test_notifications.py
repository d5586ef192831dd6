"""Issue 18: people learn of what needs them, by e-mail and in the portal, exactly once.

One program from enrolment to completion on the real local broker and store; every e-mail
goes through a real SMTP server (aiosmtpd on loopback) into a maildir, and is read back
from there: who received what, in which language, with which links and calendar parts
(parsed by the `icalendar` package). A hospital leads; a university's junior nurse
mentors a hospital consultant who reads French.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import icalendar

from telemachus.cli.federation import Federation
from telemachus.cli.skeleton import CONSENT as SKELETON_CONSENT
from telemachus.identity.notifications.recording import (
    Contacts,
    NoticeEvent,
    NoticeHandlers,
    SendDigests,
    SendReminders,
)
from telemachus.identity.service_layer.unit_of_work import NOTICES, REMINDERS, IdentityUnitOfWork
from telemachus.sessions.domain import commands
from telemachus.sessions.domain.model import Attendance
from telemachus.sessions.service_layer.handlers import SessionsHandlers
from telemachus.sessions.service_layer.publishing import to_wire
from telemachus.sessions.service_layer.unit_of_work import SessionsUnitOfWork
from telemachus.shared.contracts.pairing import PairingProposedV1
from telemachus.shared.contracts.sessions import SessionCancelledV1, SessionScheduledV1
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.inbox import InboxEntry
from telemachus.shared.runtime.local_mail import LocalMailServer
from telemachus.shared.security.tokens import Principal, Role
from telemachus.shared.testing.kafka import eventually
from tests.helpers.lead_api import LeadApi
from tests.helpers.sites import (
    Site,
    enrol,
    known_at,
    proposal_to,
    publish_as_lead,
    publish_program,
)
from tests.test_sessions import LONDON_TUESDAYS, london, next_tuesday

NEW_YORK_TUESDAYS = {
    "time_zone": "America/New_York",
    "slots": [{"day": "tue", "start": "03:00", "end": "08:00"}],
}
LINK = re.compile(r"https?://127\.0\.0\.1:\d+/\S*")


def mail_to(server: LocalMailServer, address: str) -> list[EmailMessage]:
    found = [m for m in server.messages() if address in str(m["To"])]
    return [m for m in found if isinstance(m, EmailMessage)]


def kinds(messages: list[EmailMessage]) -> Counter[str]:
    return Counter(str(m["X-Telemachus-Notice"]) for m in messages)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def calendar_of(message: EmailMessage) -> icalendar.Calendar:
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, [p.get_content_type() for p in message.walk()]
    assert any(p.get_filename() == "invite.ics" for p in message.walk()), (
        "no .ics file for clients that only offer attachments"
    )
    payload = parts[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    return icalendar.Calendar.from_ical(payload)


async def settled(server: LocalMailServer, address: str, expected: Counter[str]) -> None:
    """Waits until `address` has what is expected, then a little longer for anything extra."""

    async def arrived() -> bool:
        return kinds(mail_to(server, address)) >= expected

    try:
        await eventually(arrived, within=60)
    except AssertionError:
        got = kinds(mail_to(server, address))
        raise AssertionError(f"{address}: missing {expected - got}, got {got}") from None
    await asyncio.sleep(1.5)


async def test_a_program_from_enrolment_to_completion_tells_each_person_exactly_once(
    sites: tuple[Site, Site, Site], federation: Federation, mail_server: LocalMailServer
) -> None:
    hospital, university, research = sites
    program = await publish_program(
        hospital, [university.id], title="Digital wards", planned_sessions=1
    )
    await known_at(university, program["id"])
    consultant = await hospital.register(
        display_name="Dr Camille Martin",
        profession="medicine",
        career_stage=5,
        topics_offered=[],
        topics_sought=[{"topic": "e-medicine", "priority": 5}],
        availability=LONDON_TUESDAYS,
        languages=["fr", "en"],
    )
    nurse = await university.register(
        display_name="Nia Nurse", availability=NEW_YORK_TUESDAYS, languages=["en"]
    )
    for site, person in ((hospital, consultant), (university, nurse)):
        await enrol(site, person, program, SKELETON_CONSENT)

    pairing = LeadApi(federation, hospital, hospital.client, "pairing")
    sessions = LeadApi(federation, hospital, hospital.client, "sessions")
    feedback = LeadApi(federation, hospital, hospital.client, "feedback")
    lead = await pairing.coordinator(hospital.id)
    mentor, mentee = await pairing.participant(nurse), await pairing.participant(consultant)

    async def both_in_pool() -> bool:
        # Until pairing has the program's terms, its pool is not there (404).
        pool = await pairing.call("GET", f"/programs/{program['id']}/pool?limit=1000", lead)
        refs = {c["participant_ref"] for c in pool.json()} if pool.status_code == 200 else set()
        return {nurse["ref"], consultant["ref"]} <= refs

    await eventually(both_in_pool)
    opened = await pairing.ok("POST", f"/programs/{program['id']}/rounds", lead, json={})
    await pairing.ok("POST", f"/rounds/{opened['id']}/compute", lead)
    published = await pairing.ok("POST", f"/rounds/{opened['id']}/publish", lead)
    (proposed,) = published["pairings"]

    # Before both accept, the proposal names no one: not the partner's name, address or ref.
    nurse_mail, consultant_mail = nurse["work_email"], consultant["work_email"]
    await settled(mail_server, nurse_mail, Counter({"proposal": 1}))
    (proposal,) = mail_to(mail_server, nurse_mail)
    whole = proposal.as_string()
    for secret in (consultant["display_name"], consultant_mail, consultant["ref"], "Martin"):
        assert secret not in whole
    assert f"/at/{hospital.id}/proposals/{proposed['id']}" in text_of(proposal)
    assert str(proposal["Subject"]) == "A mentoring partner is proposed for you"
    (french,) = mail_to(mail_server, consultant_mail)
    assert str(french["Subject"]) == "Un binôme de mentorat vous est proposé"
    assert french["Content-Language"] == "fr"
    assert french.get_body(("html",)) is not None

    for who in (mentor, mentee):
        await pairing.ok(
            "POST", f"/pairings/{proposed['id']}/responses", who, json={"decision": "accept"}
        )
    rid = f"relationship_{proposed['id']}"

    async def relationship() -> Any:
        found = await sessions.call("GET", f"/relationships/{rid}", mentor)
        return found.json() if found.status_code == 200 else None

    await eventually(relationship)

    # The nurse wants no session e-mails; a cancellation still comes (the program requires it).
    home = university.url + "/notifications/me/preferences"
    nurse_at_home = await university.person(nurse["subject"])
    choice = await university.client.put(
        home, headers=nurse_at_home, json={"email": {"sessions": False}}
    )
    assert choice.status_code == 200 and choice.json()["email"]["sessions"] is False
    refused = await university.client.put(home, headers=nurse_at_home, json={"frequency": "hourly"})
    assert refused.status_code == 422 and "frequency" in refused.text

    terms = {"mentor_objectives": ["ward apps"], "mentee_objectives": ["e-prescribing"]}
    await sessions.ok("PUT", f"/relationships/{rid}/agreement", mentor, json=terms)
    await sessions.ok(
        "POST", f"/relationships/{rid}/agreement/confirmations", mentee, json={"revision": 1}
    )

    async def agreed_session(week: int, hour: int) -> str:
        made = await sessions.ok(
            "POST",
            f"/relationships/{rid}/sessions",
            mentor,
            json={
                "starts_at": london(next_tuesday(week), hour),
                "format": "virtual",
                "link": "https://meet.example/ward",
            },
        )
        session_id = str(made["sessions"][-1]["id"])
        await sessions.ok(
            "POST", f"/relationships/{rid}/sessions/{session_id}/confirmation", mentee
        )
        return session_id

    first = await agreed_session(1, 9)
    await sessions.ok(
        "POST",
        f"/relationships/{rid}/sessions/{first}/reschedule",
        mentee,
        json={"starts_at": london(next_tuesday(1), 10), "minutes": 45},
    )
    await sessions.ok("POST", f"/relationships/{rid}/sessions/{first}/confirmation", mentor)
    second = await agreed_session(2, 9)
    await sessions.ok("POST", f"/relationships/{rid}/sessions/{second}/cancel", mentor)

    # A confidential concern goes to the reporter's home institution's contact only.
    concern = await feedback.call(
        "POST",
        "/concerns",
        mentor,
        json={"relationship_id": rid, "category": "power-imbalance", "text": "pressure"},
    )
    assert concern.status_code == 201, concern.text

    # The first session is held (a sessions bus a week ahead, on the same store and outbox):
    # one planned session, so the relationship completes.
    runtime = federation.runtime(hospital.id, "sessions")
    later = MessageBus(
        runtime.unit_of_work_factory(SessionsUnitOfWork, to_wire),
        SessionsHandlers(
            hospital.id, clock=lambda: datetime.now(UTC) + timedelta(days=15)
        ).handlers(),
        runtime.telemetry.tracer,
    )
    for person in (nurse, consultant):
        await later.handle(
            commands.RecordAttendance(
                principal=Principal(
                    person["ref"].split(":")[0],
                    person["subject"],
                    frozenset({Role.PARTICIPANT}),
                    person["ref"],
                ),
                relationship_id=rid,
                session_id=first,
                attended=Attendance.HELD,
                note=None,
            )
        )

    async def feedback_windows() -> set[str]:
        return {
            w["window_id"]
            for kind, w in await feedback.events()
            if kind == "feedback-window-opened" and w["relationship_id"] == rid
        }

    async def baseline_check_in_and_final() -> set[str]:
        found = await feedback_windows()
        return found if len(found) >= 3 and any(w.endswith("_final") for w in found) else set()

    # The baseline, the check-in after the held session, and the final one at completion.
    windows = await eventually(baseline_check_in_and_final)
    both = Counter(
        {
            "proposal": 1,
            "pairing-confirmed": 1,
            "relationship-started": 1,
            "agreement-confirmed": 1,
            "session-cancelled": 1,
            "feedback-due": len(windows),
            "relationship-ended": 1,
        }
    )
    consultant_expects = both + Counter({"session-scheduled": 2, "session-moved": 1})
    await settled(mail_server, consultant_mail, consultant_expects)
    await settled(mail_server, nurse_mail, both)
    assert await feedback_windows() == windows  # no window opened after we counted
    assert kinds(mail_to(mail_server, consultant_mail)) == consultant_expects
    assert kinds(mail_to(mail_server, nurse_mail)) == both  # no session mail but the required

    # Calendars: one UID per session; REQUEST with SEQUENCE 0, the move 1, then CANCEL.
    calendars = {
        str(m["X-Telemachus-Notice"]) + str(i): calendar_of(m)
        for i, m in enumerate(mail_to(mail_server, consultant_mail))
        if str(m["X-Telemachus-Notice"]).startswith("session-")
    }
    events = [(str(c["METHOD"]), next(iter(c.walk("VEVENT")))) for c in calendars.values()]
    by_uid: dict[str, list[tuple[str, int, datetime, str]]] = {}
    for method, event in events:
        by_uid.setdefault(str(event["UID"]), []).append(
            (method, int(str(event["SEQUENCE"])), event.decoded("dtstart"), str(event["STATUS"]))
        )
    assert len(by_uid) == 2
    moved = sorted(by_uid[f"{first}@{hospital.id}.telemachus"], key=lambda e: e[1])
    assert [(m, s, st) for m, s, _, st in moved] == [
        ("REQUEST", 0, "CONFIRMED"),
        ("REQUEST", 1, "CONFIRMED"),
    ]
    start = moved[1][2]
    assert str(start.tzinfo) == "Europe/London"  # her time zone, with its VTIMEZONE
    assert start == datetime.fromisoformat(london(next_tuesday(1), 10))
    cancelled = sorted(by_uid[f"{second}@{hospital.id}.telemachus"], key=lambda e: e[1])
    assert [(m, st) for m, _, _, st in cancelled] == [
        ("REQUEST", "CONFIRMED"),
        ("CANCEL", "CANCELLED"),
    ]
    assert cancelled[1][1] > cancelled[0][1]
    nurse_cancel = [
        m
        for m in mail_to(mail_server, nurse_mail)
        if m["X-Telemachus-Notice"] == "session-cancelled"
    ]
    assert "America/New_York" in str(calendar_of(nurse_cancel[0]).to_ical())

    # Links lead into the person's own home portal, to where they act.
    for address, site in ((consultant_mail, hospital), (nurse_mail, university)):
        portal = federation.portal_url(site.id)
        for message in mail_to(mail_server, address):
            links = LINK.findall(text_of(message))
            assert links and all(link.startswith(portal) for link in links), links
    after = {
        str(m["X-Telemachus-Notice"]): LINK.findall(text_of(m))[0]
        for m in mail_to(mail_server, nurse_mail)
    }
    assert after["pairing-confirmed"].endswith(f"/at/{hospital.id}/proposals/{proposed['id']}")
    assert after["relationship-started"].endswith(f"/at/{hospital.id}/relationships/{rid}")

    # The concern reached the safeguarding contact of the nurse's university, who raised it:
    # not the lead's contact, no coordinator, no other institution.
    async def concern_mail() -> list[EmailMessage]:
        return [
            m
            for m in mail_to(mail_server, f"safeguarding@{university.id}.example")
            if m["X-Telemachus-Notice"] == "concern-reported"
            and f"/safeguarding#{concern.json()['id']}" in text_of(m)
        ]

    (told,) = await eventually(concern_mail)
    assert "pressure" not in told.as_string()  # what was said stays in feedback
    for elsewhere in (
        f"coordinators@{hospital.id}.example",
        f"safeguarding@{hospital.id}.example",
        f"safeguarding@{research.id}.example",
    ):
        assert not [
            m
            for m in mail_to(mail_server, elsewhere)
            if m["X-Telemachus-Notice"] == "concern-reported" and concern.json()["id"] in text_of(m)
        ]

    # In the portal's list: everything, e-mailed or not, in the reader's language; read once.
    nurse_list = await university.client.get(
        university.url + "/notifications/me", headers=nurse_at_home
    )
    assert nurse_list.status_code == 200
    listed = Counter(n["kind"] for n in nurse_list.json())
    assert listed == both + Counter({"session-scheduled": 2, "session-moved": 1})
    assert int(nurse_list.headers["X-Unread-Count"]) == sum(listed.values())
    assert {n["email"] for n in nurse_list.json() if n["kind"] == "session-moved"} == {"off"}
    consultant_at_home = await hospital.person(consultant["subject"])
    mine = await hospital.client.get(hospital.url + "/notifications/me", headers=consultant_at_home)
    assert "Votre relation de mentorat a commencé" in {n["subject"] for n in mine.json()}
    read = await university.client.post(
        university.url + "/notifications/me/read", headers=nurse_at_home, json={}
    )
    assert read.json() == {"marked": sum(listed.values())}
    again = await university.client.get(
        university.url + "/notifications/me?unread=true", headers=nurse_at_home
    )
    assert again.json() == [] and again.headers["X-Unread-Count"] == "0"
    others = await university.client.post(
        university.url + "/notifications/me/read",
        headers=nurse_at_home,
        json={"notice_ids": [mine.json()[0]["id"]]},
    )
    assert others.status_code == 404  # someone else's notice is not there to mark
    assert mail_server.counts.duplicates == 0


async def test_reminders_come_once_before_a_deadline_never_after_and_weekly_digests_once(
    sites: tuple[Site, Site, Site], federation: Federation, mail_server: LocalMailServer
) -> None:
    hospital, university, _ = sites
    program = await publish_program(hospital, [university.id], title="Reminded")
    await known_at(university, program["id"])
    junior, other = await university.register(), await university.register()
    for person in (junior, other):
        await enrol(university, person, program)
    now = datetime.now(UTC)

    def proposed(person: dict[str, Any], hours: int) -> PairingProposedV1:
        return proposal_to(hospital.id, program["id"], person, now + timedelta(hours=hours))

    # The other person chose one e-mail a week.
    weekly = await university.client.put(
        university.url + "/notifications/me/preferences",
        headers=await university.person(other["subject"]),
        json={"frequency": "weekly"},
    )
    assert weekly.status_code == 200, weekly.text
    # `later` is not yet due by the real clock (its warning starts in 12 hours), so the
    # service's own sweep cannot remind of it before this test's clock passes its deadline.
    soon, later, digested = proposed(junior, 30), proposed(junior, 60), proposed(other, 300)
    for event in (soon, digested):
        await publish_as_lead(federation, event, "pairing")
    await settled(mail_server, junior["work_email"], Counter({"proposal": 1}))

    runtime = federation.runtime(university.id, "identity")

    def bus_at(moment: datetime) -> MessageBus[IdentityUnitOfWork]:
        notifier = NoticeHandlers(university.id, Contacts(), mail=True, clock=lambda: moment)
        return MessageBus(
            runtime.unit_of_work_factory(IdentityUnitOfWork, lambda _: None),
            notifier.handlers(),
            runtime.telemetry.tracer,
        )

    # 30 hours before the answer date is inside the 48-hour warning: reminded, once.
    for _ in range(2):
        await bus_at(now).handle(SendReminders())
    reminded = Counter({"proposal": 1, "proposal-ending": 1})
    await settled(mail_server, junior["work_email"], reminded)
    assert kinds(mail_to(mail_server, junior["work_email"])) == reminded

    # A reminder the notifier could not send before its deadline is dropped, not sent late.
    await publish_as_lead(federation, later, "pairing")
    await settled(mail_server, junior["work_email"], reminded + Counter({"proposal": 1}))
    await bus_at(now + timedelta(hours=61)).handle(SendReminders())
    await asyncio.sleep(2)
    assert kinds(mail_to(mail_server, junior["work_email"]))["proposal-ending"] == 1

    # The weekly reader got nothing yet; a week later, one digest naming the proposal.
    assert mail_to(mail_server, other["work_email"]) == []
    for _ in range(2):
        await bus_at(now + timedelta(days=8)).handle(SendDigests())

    async def digest() -> list[EmailMessage]:
        return mail_to(mail_server, other["work_email"])

    (week,) = await eventually(digest)
    await asyncio.sleep(2)
    assert len(mail_to(mail_server, other["work_email"])) == 1
    assert week["X-Telemachus-Notice"] == "digest"
    assert f"/at/{hospital.id}/proposals/{digested.pairing_id}" in text_of(week)


async def test_a_session_agreed_and_cancelled_in_one_batch_leaves_no_reminder(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    """Events of one polled batch share a transaction: the cancellation must see, and end,
    the reminder the agreement set a moment before, though it is not stored yet."""
    hospital, university, _ = sites
    program = await publish_program(hospital, [university.id], title="Batched")
    await known_at(university, program["id"])
    junior = await university.register()
    await enrol(university, junior, program)
    facts = {
        "relationship_id": f"relationship_{secrets.token_hex(4)}",
        "session_id": f"session_{secrets.token_hex(4)}",
        "program_id": program["id"],
        "mentor_ref": junior["ref"],
        "mentee_ref": f"{hospital.id}:senior{secrets.token_hex(3)}",
        "starts_at": datetime.now(UTC) + timedelta(days=3),
        "ends_at": datetime.now(UTC) + timedelta(days=3, hours=1),
        "format": "virtual",
    }
    agreed, cancelled = (
        SessionScheduledV1(**facts, sequence=1),
        SessionCancelledV1(**facts, sequence=2),
    )
    runtime = federation.runtime(university.id, "identity")
    notifier = NoticeHandlers(university.id, Contacts(), mail=False)
    bus = MessageBus(
        runtime.unit_of_work_factory(IdentityUnitOfWork, lambda _: None),
        notifier.handlers(),
        runtime.telemetry.tracer,
    )
    await bus.handle_batch(
        [
            (NoticeEvent(agreed, hospital.id), InboxEntry(f"test#{secrets.token_hex(4)}")),
            (NoticeEvent(cancelled, hospital.id), InboxEntry(f"test#{secrets.token_hex(4)}")),
        ]
    )
    reminders = await runtime.db[REMINDERS].find({"groups": facts["session_id"]}).to_list()
    assert reminders == []
    told = await runtime.db[NOTICES].find({"recipient": junior["id"]}).to_list()
    assert sorted(n["kind"] for n in told) == ["session-cancelled", "session-scheduled"]
