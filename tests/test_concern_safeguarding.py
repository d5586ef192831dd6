"""A junior's concern reaches their own institution's safeguarding contact, escalates when
nobody answers, and never reaches the people it could be about (issue 21), on the real
local broker and store.

A hospital leads a program with a university. A university junior, who shared their line
manager, mentors a hospital senior who is also one of the hospital's coordinators; the
junior's line manager is one of the university's coordinators. Each of them tries to read
the concern with the tokens the portal would hold."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from telemachus.cli.federation import Federation
from telemachus.feedback.domain import commands
from telemachus.feedback.service_layer.handlers import FeedbackHandlers
from telemachus.feedback.service_layer.publishing import to_wire
from telemachus.feedback.service_layer.unit_of_work import CONCERNS, FeedbackUnitOfWork
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.documents import stamp
from telemachus.shared.security.tokens import Role
from telemachus.shared.testing.kafka import eventually
from tests.helpers.sites import Site
from tests.test_notifications import mail_to, text_of
from tests.test_pairing import CONSENT, junior
from tests.test_privacy import Pair, confirmed_pair, three_sites


@pytest.fixture(scope="module")
async def case(federation: Federation) -> AsyncIterator[tuple[Pair, dict[str, Any]]]:
    async with httpx.AsyncClient(timeout=60) as client:
        sites = await three_sites(federation, client)
        university: Site = sites[1]
        manager = await university.register(**junior(career_stage=5))
        pair = await confirmed_pair(
            sites, client, [*CONSENT, "line_manager"], line_manager_id=manager["id"]
        )
        yield pair, manager


async def ids_listed(pair: Pair, path: str, headers: dict[str, str]) -> list[str]:
    """The concerns a list shows (none when the list itself is refused)."""
    response = await pair.feedback.call("GET", path, headers)
    assert response.status_code in (200, 403), response.text
    return [c["id"] for c in response.json()] if response.status_code == 200 else []


async def test_a_concern_reaches_the_reporters_contact_and_none_it_could_be_about(
    case: tuple[Pair, dict[str, Any]], federation: Federation, mail_server: Any
) -> None:
    pair, manager = case
    api, hospital, university = pair.feedback, pair.hospital.id, pair.university.id
    program = pair.program["id"]
    reporter = await api.participant(pair.mentor)
    concern = await api.ok(
        "POST",
        "/concerns",
        reporter,
        json={
            "relationship_id": pair.relationship_id,
            "category": "power-imbalance",
            "text": "told my feedback would reach my manager",
        },
    )
    cid = concern["id"]
    assert concern["respond_by"] and concern["status"] == "open"

    contact = await api.staff(university, f"safe@{university}", True, Role.SAFEGUARDING)
    shown = await api.ok("GET", "/safeguarding/concerns", contact)
    assert cid in [c["id"] for c in shown]
    assert {c["reporter_ref"].split(":")[0] for c in shown} == {university}  # its people's
    # Who is shielded stays inside: not even a contact learns the line managers' refs.
    assert "reporting_line" not in shown[0] and manager["ref"] not in str(shown)

    # The other party, though one of the lead's coordinators, with the portal's token.
    senior_coordinator = await api.coordinator(hospital, pair.mentee["subject"], exchanged=True)
    # The junior's line manager, one of the university's coordinators.
    line_manager = await api.coordinator(university, manager["subject"])
    # Another institution's safeguarding contact.
    elsewhere = await api.staff(hospital, f"safe@{hospital}", True, Role.SAFEGUARDING)
    # The lead's own IdP token says nothing of its roster: it cannot prove it is no party.
    unvouched = await api.coordinator(hospital)
    for who in (senior_coordinator, line_manager, elsewhere, unvouched):
        assert cid not in await ids_listed(pair, f"/programs/{program}/concerns", who)
        assert (await api.call("GET", f"/concerns/{cid}", who)).status_code == 403
        refused = await api.call(
            "POST", f"/concerns/{cid}/follow-up", who, json={"status": "acknowledged"}
        )
        assert refused.status_code == 403, refused.text
    assert "reporting line" in (await api.call("GET", f"/concerns/{cid}", line_manager)).text
    assert cid not in await ids_listed(pair, "/safeguarding/concerns", elsewhere)
    # Coordinators with no part in it read it: the lead's (signed in through the portal),
    # and the reporter's institution's.
    for who in (
        await api.coordinator(hospital, exchanged=True),
        await api.coordinator(university),
    ):
        assert cid in await ids_listed(pair, f"/programs/{program}/concerns", who)

    # The e-mail goes to the reporter's home's contact, not to the lead's, and says nothing.
    async def told(address: str, kind: str) -> list[Any]:
        return [
            m
            for m in mail_to(mail_server, address)
            if m["X-Telemachus-Notice"] == kind and f"/safeguarding#{cid}" in text_of(m)
        ]

    async def contact_told() -> list[Any]:
        return await told(f"safeguarding@{university}.example", "concern-reported")

    [mail] = await eventually(contact_told)
    assert "manager" not in mail.as_string()
    assert not await told(f"safeguarding@{hospital}.example", "concern-reported")

    # Nobody answers by the deadline (moved into the past, as time passing would).
    store = federation.runtime(hospital, "feedback").db[CONCERNS]
    past = datetime.now(UTC) - timedelta(minutes=1)
    await store.update_one({"_id": cid}, {"$set": {"respond_by": stamp(past)}})
    # What feedback's periodic sweep does (every TELEMACHUS_SWEEP_SECONDS), run now.
    runtime = federation.runtime(hospital, "feedback")
    await MessageBus(
        runtime.unit_of_work_factory(FeedbackUnitOfWork, to_wire),
        FeedbackHandlers(hospital).handlers(),
        runtime.telemetry.tracer,
    ).handle(commands.Sweep())

    async def escalated() -> list[dict[str, Any]]:
        mine = await api.ok("GET", "/concerns/me", reporter)
        return [c for c in mine if c["id"] == cid and c["escalated"]]

    await eventually(escalated, within=60)
    events = [b for kind, b in await api.events() if b.get("concern_id") == cid]
    assert [b["institution"] for b in events] == [university, university]

    async def lead_told() -> list[Any]:
        return await told(f"safeguarding-lead@{university}.example", "concern-overdue")

    [overdue] = await eventually(lead_told)
    assert "manager" not in overdue.as_string()
    assert not await told(f"safeguarding-lead@{hospital}.example", "concern-overdue")

    # The contact acts and closes it with an outcome; it escalates no more.
    await api.ok(
        "POST",
        f"/concerns/{cid}/follow-up",
        contact,
        json={"status": "acknowledged", "note": "called the junior"},
    )
    unresolved = await api.call(
        "POST", f"/concerns/{cid}/follow-up", contact, json={"status": "resolved"}
    )
    assert unresolved.status_code == 422 and "outcome" in unresolved.text
    await api.ok(
        "POST",
        f"/concerns/{cid}/follow-up",
        contact,
        json={"status": "resolved", "outcome": "supported", "note": "spoke to the senior"},
    )

    # The reporter follows its progress, not who acted nor what they noted.
    [progress] = [c for c in await api.ok("GET", "/concerns/me", reporter) if c["id"] == cid]
    assert progress["status"] == "resolved" and progress["outcome"] == "supported"
    assert [s["status"] for s in progress["steps"]] == ["acknowledged", "resolved"]
    assert progress["escalated"] is True
    for hidden in ("coordinator-", "called the junior", "safe@", "updates", "reporting_line"):
        assert hidden not in str(progress)


async def test_a_concern_stored_before_exclusions_existed_is_shielded_at_start(
    case: tuple[Pair, dict[str, Any]], federation: Federation
) -> None:
    pair, _ = case
    api, hospital = pair.feedback, pair.hospital.id
    concern = await api.ok(
        "POST",
        "/concerns",
        await api.participant(pair.mentor),
        json={"relationship_id": pair.relationship_id, "category": "boundary"},
    )
    cid = concern["id"]
    runtime = federation.runtime(hospital, "feedback")
    # As a concern stored before this release: no exclusions at all.
    await runtime.db[CONCERNS].update_one(
        {"_id": cid}, {"$unset": {"parties": "", "reporting_line": ""}}
    )
    senior_coordinator = await api.coordinator(hospital, pair.mentee["subject"], exchanged=True)
    assert (await api.call("GET", f"/concerns/{cid}", senior_coordinator)).status_code == 200

    # What the feedback service does when it starts.
    bus = MessageBus(
        runtime.unit_of_work_factory(FeedbackUnitOfWork, to_wire),
        FeedbackHandlers(hospital).handlers(),
        runtime.telemetry.tracer,
    )
    assert await bus.handle(commands.ShieldEarlierConcerns()) == 1
    assert (await api.call("GET", f"/concerns/{cid}", senior_coordinator)).status_code == 403
    assert await bus.handle(commands.ShieldEarlierConcerns()) == 0


async def test_a_concern_pauses_the_relationship_until_it_is_resolved(
    case: tuple[Pair, dict[str, Any]], mail_server: Any
) -> None:
    pair, _ = case
    feedback, sessions = pair.feedback, pair.sessions
    university, rid = pair.university.id, pair.relationship_id
    mentor, mentee = (
        await sessions.participant(pair.mentor),
        await sessions.participant(pair.mentee),
    )
    concern = await feedback.ok(
        "POST",
        "/concerns",
        await feedback.participant(pair.mentor),
        json={"relationship_id": rid, "category": "boundary"},
    )
    contact = await feedback.staff(university, f"safe@{university}", True, Role.SAFEGUARDING)
    await feedback.ok(
        "POST",
        f"/concerns/{concern['id']}/follow-up",
        contact,
        json={"status": "in-progress", "pause": True},
    )

    async def relationship() -> dict[str, Any]:
        return dict(await sessions.ok("GET", f"/relationships/{rid}", mentee))

    async def paused() -> bool:
        return bool((await relationship())["paused"])

    await eventually(paused)
    # Nothing can be planned: not by the senior, not by the junior.
    terms = {"mentor_objectives": ["how a ward round runs"], "mentee_objectives": ["apps"]}
    for who in (mentee, mentor):
        refused = await sessions.call("PUT", f"/relationships/{rid}/agreement", who, json=terms)
        assert refused.status_code == 409 and "paused" in refused.text, refused.text
    # Nor does anything leak: the event names neither the concern nor its reporter.
    [pause] = [b for kind, b in await feedback.events() if kind == "relationship-paused"]
    assert concern["id"] not in str(pause) and pair.mentor["ref"] not in str(pause)

    # Both people are told that planning stopped, never why.
    async def told_of_the_pause() -> list[Any]:
        return [
            m
            for person in (pair.mentor, pair.mentee)
            for m in mail_to(mail_server, person["work_email"])
            if m["X-Telemachus-Notice"] == "relationship-paused"
        ]

    told = await eventually(lambda: _both(told_of_the_pause))
    assert all("concern" not in text_of(m).lower() for m in told)

    await feedback.ok(
        "POST",
        f"/concerns/{concern['id']}/follow-up",
        contact,
        json={"status": "resolved", "outcome": "supported"},
    )

    async def resumed() -> bool:
        return not (await relationship())["paused"]

    await eventually(resumed)
    [mine] = [
        c
        for c in await feedback.ok("GET", "/concerns/me", await feedback.participant(pair.mentor))
        if c["id"] == concern["id"]
    ]
    assert mine["relationship_paused"] is False and mine["outcome"] == "supported"


async def _both(found: Any) -> list[Any]:
    """Two e-mails, one to each party, or nothing yet."""
    mails = await found()
    return mails if len(mails) == 2 else []
