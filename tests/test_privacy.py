"""Privacy under attack (issue 14), on the real local broker and store.

Each test performs an attack an outsider or a curious insider tried, with the platform's
own APIs, tokens and Kafka clients, and checks that it now recovers nothing or is refused.
A hospital leads a program with a university and a research centre; a university junior
mentors a hospital senior through a real round, both accept, sessions opens the
relationship and feedback its baseline window.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from bson import json_util
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pymongo import AsyncMongoClient

from telemachus.cli.federation import Federation
from telemachus.sessions.domain import commands as sessions_commands
from telemachus.sessions.domain.model import Attendance
from telemachus.sessions.service_layer.handlers import SessionsHandlers
from telemachus.sessions.service_layer.publishing import to_wire as sessions_wire
from telemachus.sessions.service_layer.unit_of_work import SessionsUnitOfWork
from telemachus.shared.contracts.identity import ParticipantEnrolledV2, contact_context
from telemachus.shared.contracts.topics import SERVICES, dead_letter_topic, event_topic
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.security.keys import InstitutionKeys
from telemachus.shared.security.sealing import SealedV1, SealError, open_sealed
from telemachus.shared.security.tokens import Principal, Role, audience_of
from telemachus.shared.testing.kafka import eventually, headers_of, read_topic
from tests.helpers.lead_api import LeadApi
from tests.helpers.sites import Site, bearer, enrol, known_at, publish_program
from tests.test_feedback import all_items
from tests.test_pairing import CONSENT, junior, senior
from tests.test_sessions import london, next_tuesday


@dataclass
class Pair:
    """One confirmed pairing of the program, and the lead's APIs its people use."""

    hospital: Site
    university: Site
    centre: Site
    program: dict[str, Any]
    mentor: dict[str, Any]  # at the university
    mentee: dict[str, Any]  # at the hospital
    pairing_id: str
    relationship_id: str
    pairing: LeadApi
    sessions: LeadApi
    feedback: LeadApi


async def confirmed_pair(
    sites: tuple[Site, Site, Site],
    client: httpx.AsyncClient,
    mentor_consent: list[str] = CONSENT,
    **mentor_profile: Any,
) -> Pair:
    hospital, university, centre = sites
    program = await publish_program(hospital, [university.id, centre.id], pairing_mode="assigned")
    await known_at(university, program["id"])
    mentee = await hospital.register(**senior(career_stage=5))
    mentor = await university.register(**junior(**mentor_profile))
    await enrol(hospital, mentee, program, CONSENT)
    await enrol(university, mentor, program, mentor_consent)
    pairing = LeadApi(hospital.f, hospital, client, "pairing")
    lead = await pairing.coordinator(hospital.id)

    async def pooled() -> bool:
        # Not yet known to the lead's pairing is not yet pooled: ask again.
        pool = await pairing.call("GET", f"/programs/{program['id']}/pool", lead)
        return pool.status_code == 200 and len(pool.json()) == 2

    await eventually(pooled)
    opened = await pairing.ok("POST", f"/programs/{program['id']}/rounds", lead, json={})
    await pairing.ok("POST", f"/rounds/{opened['id']}/compute", lead)
    published = await pairing.ok("POST", f"/rounds/{opened['id']}/publish", lead)
    [proposal] = published["pairings"]
    for person in (mentor, mentee):
        await pairing.ok(
            "POST",
            f"/pairings/{proposal['id']}/responses",
            await pairing.participant(person),
            json={"decision": "accept"},
        )
    sessions = LeadApi(hospital.f, hospital, client, "sessions")
    feedback = LeadApi(hospital.f, hospital, client, "feedback")
    relationship_id = f"relationship_{proposal['id']}"

    async def opened_everywhere() -> bool:
        relationship = await sessions.call(
            "GET", f"/relationships/{relationship_id}", await sessions.participant(mentor)
        )
        windows = await feedback.call("GET", "/feedback/me", await feedback.participant(mentor))
        return relationship.status_code == 200 and bool(windows.json())

    await eventually(opened_everywhere)
    return Pair(
        hospital,
        university,
        centre,
        program,
        mentor,
        mentee,
        proposal["id"],
        relationship_id,
        pairing,
        sessions,
        feedback,
    )


async def three_sites(federation: Federation, client: httpx.AsyncClient) -> tuple[Site, Site, Site]:
    return (
        await Site.open(federation, 0, client),
        await Site.open(federation, 1, client),
        await Site.open(federation, 2, client),
    )


@pytest.fixture(scope="module")
async def pair(federation: Federation) -> AsyncIterator[Pair]:
    """Read-only for the tests that use it: each attack leaves the pair as it was."""
    async with httpx.AsyncClient(timeout=60) as client:
        sites = (
            await Site.open(federation, 0, client),
            await Site.open(federation, 1, client),
            await Site.open(federation, 2, client),
        )
        yield await confirmed_pair(sites, client)


async def test_a_ref_claim_opens_a_persons_records_only_with_the_participant_role(
    pair: Pair, federation: Federation
) -> None:
    """Attack 9: integrator, auditor and coordinator tokens carrying a party's `ref` read
    that party's pairing, relationship and own answers."""
    mentor = pair.mentor
    windows = await pair.feedback.ok("GET", "/feedback/me", await pair.feedback.participant(mentor))
    window = windows[0]["window"]
    key = windows[0]["instruments"][0]["key"]
    answer = await pair.feedback.ok(
        "PUT",
        f"/windows/{window['id']}/answers/{key}",
        await pair.feedback.participant(mentor),
        json={"answers": all_items(key, 4)},
    )
    own = {
        pair.pairing: f"/pairings/{pair.pairing_id}",
        pair.sessions: f"/relationships/{pair.relationship_id}",
        pair.feedback: f"/answers/{answer['id']}",
    }
    for api, path in own.items():
        allowed = await api.call("GET", path, await api.participant(mentor))
        assert allowed.status_code == 200, (path, allowed.text)
        for role in (Role.INTEGRATOR, Role.AUDITOR, Role.COORDINATOR):
            if role is Role.COORDINATOR and api is not pair.feedback:
                continue  # a coordinator sees their own people's pairings by design
            token = federation.token(
                pair.university.id,
                mentor["subject"],
                role,
                audience=pair.hospital.id,
                ref=mentor["ref"],
            )
            refused = await api.call("GET", path, bearer(token))
            assert refused.status_code == 403, (path, role, refused.text)
    # A coordinator of the lead, with the mentor's ref, does not read the mentor's answer.
    lead_coordinator = federation.token(
        pair.hospital.id, "coord", Role.COORDINATOR, ref=f"{pair.hospital.id}:someone-x"
    )
    refused = await pair.feedback.call("GET", own[pair.feedback], bearer(lead_coordinator))
    assert refused.status_code == 403


async def test_a_token_living_longer_than_the_maximum_is_refused_everywhere(
    federation: Federation, pair: Pair
) -> None:
    """Attack 10: a token valid for 100 years was accepted."""
    issuer = federation.issuer(pair.hospital.id)
    async with httpx.AsyncClient(timeout=30) as client:
        for service, path in (
            ("identity", "/programs"),
            ("pairing", f"/programs/{pair.program['id']}/pool"),
            ("sessions", f"/programs/{pair.program['id']}/relationships"),
            ("feedback", f"/programs/{pair.program['id']}/feedback-windows"),
        ):
            base = federation.url(pair.hospital.id, service)  # type: ignore[arg-type]
            for lifetime, expected in ((timedelta(days=36500), 401), (timedelta(hours=8), 200)):
                token = issuer.mint(
                    "coord", [Role.COORDINATOR], audience_of(pair.hospital.id), lifetime=lifetime
                )
                response = await client.get(base + path, headers=bearer(token))
                assert response.status_code == expected, (service, lifetime, response.text)
                if expected == 401:
                    assert "longer than" in response.text


async def database_text(federation: Federation, institution: str, service: str) -> str:
    """Every document of every collection of one service's database, as JSON text."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(federation.mongodb_uri)
    try:
        db = client[f"{federation.database_prefix}-{institution}-{service}"]
        parts = []
        for name in await db.list_collection_names():
            parts.append(json_util.dumps(await db[name].find().to_list(None)))
        return "\n".join(parts)
    finally:
        await client.close()


async def test_a_partner_coordinators_subject_stays_at_home(
    pair: Pair, federation: Federation
) -> None:
    """Attack 3: a partner coordinator's e-mail-like subject was stored at the lead on a
    concern follow-up and shown to the lead's coordinators."""
    concern = await pair.feedback.ok(
        "POST",
        "/concerns",
        await pair.feedback.participant(pair.mentor),
        json={"relationship_id": pair.relationship_id, "category": "other"},
    )
    # A partner whose issuer put an e-mail in `sub` (token exchange puts a keyed code
    # there): even then the lead keeps no name.
    subject = f"alice.smith@{pair.university.id}.example"
    partner = bearer(
        federation.token(pair.university.id, subject, Role.COORDINATOR, audience=pair.hospital.id)
    )
    followed = await pair.feedback.ok(
        "POST", f"/concerns/{concern['id']}/follow-up", partner, json={"status": "acknowledged"}
    )
    [update] = followed["updates"]
    assert update["by"].startswith(f"{pair.university.id}:coordinator-")
    lead = await pair.feedback.coordinator(pair.hospital.id, exchanged=True)
    seen = await pair.feedback.ok("GET", f"/programs/{pair.program['id']}/concerns", lead)
    assert seen and "alice.smith" not in json.dumps(seen)
    assert "alice.smith" not in await database_text(federation, pair.hospital.id, "feedback")


def opened_sealed_fields(body: Any, keys: list[InstitutionKeys]) -> list[str]:
    """Every sealed contact card in an event body, opened with whichever key opens it."""
    if not isinstance(body, dict) or not isinstance(body.get("contact"), dict):
        return []
    sealed = SealedV1.model_validate(body["contact"])
    context = contact_context(body["pairing_id"], body["participant_ref"], body["counterpart_ref"])
    opened = []
    for key in keys:
        with contextlib.suppress(SealError):
            opened.append(open_sealed(sealed, key, context).decode())
    return opened


async def everything_on_the_log(federation: Federation) -> str:
    """Every record of every topic of every institution, sealed fields opened."""
    keys = [InstitutionKeys.load(path) for path in federation.key_files.values()]
    texts = []
    for institution in federation.institutions:
        for service in SERVICES:
            for topic in (
                event_topic(institution.id, service),
                dead_letter_topic(institution.id, service),
            ):
                for record in await read_topic(federation.kafka_bootstrap_servers, topic):
                    value = record.value.decode(errors="replace") if record.value else ""
                    texts.append(value)
                    texts.append(json.dumps(headers_of(record)))
                    with contextlib.suppress(ValueError):
                        texts.extend(opened_sealed_fields(json.loads(value), keys))
    return "\n".join(texts)


async def every_database(federation: Federation) -> str:
    texts = []
    for institution in federation.institutions:
        for service in SERVICES:
            texts.append(await database_text(federation, institution.id, service))
    return "\n".join(texts)


def every_span(spans: InMemorySpanExporter) -> str:
    return "\n".join(
        json.dumps(
            {
                "name": span.name,
                "attributes": dict(span.attributes or {}),
                "events": [(e.name, dict(e.attributes or {})) for e in span.events],
                "resource": dict(span.resource.attributes),
            },
            default=str,
        )
        for span in spans.get_finished_spans()
    )


@dataclass
class Participation:
    pair: Pair
    markers: dict[str, str]  # what only this person wrote or is called, by kind
    card_path: str
    reader: dict[str, str]  # the counterpart's token for the mentor's home


async def took_part_everywhere(federation: Federation, client: httpx.AsyncClient) -> Participation:
    """A university junior who is paired, agrees objectives, meets somewhere, notes,
    answers feedback with a comment and raises a concern: a marker in every store."""
    tag = secrets.token_hex(4)
    markers = {
        "name": f"Zorblatt Quenby {tag}",
        "e-mail": f"zorblatt.{tag}@example.org",
        "subject": f"zq-{tag}",
        "department": f"Ward Zorblatt {tag}",
        "objective": f"objective-zorblatt-{tag}",
        "place": f"Room Zorblatt {tag}",
        "note": f"note-zorblatt-{tag}",
        "comment": f"comment-zorblatt-{tag}",
        "concern": f"concern-zorblatt-{tag}",
    }
    sites = (
        await Site.open(federation, 0, client),
        await Site.open(federation, 1, client),
        await Site.open(federation, 2, client),
    )
    pair = await confirmed_pair(
        sites,
        client,
        display_name=markers["name"],
        work_email=markers["e-mail"],
        subject=markers["subject"],
        department=markers["department"],
    )
    mentor, mentee = pair.mentor, pair.mentee
    assert mentor["subject"] == markers["subject"]
    rid = pair.relationship_id
    as_mentor, as_mentee = (
        await pair.sessions.participant(mentor),
        await pair.sessions.participant(mentee),
    )

    # The counterpart reads the card from the mentor's home while they take part.
    reader = bearer(
        await federation.sign_in(pair.hospital.id, mentee["subject"], audience=pair.university.id)
    )
    card_path = f"/contact-cards/{pair.pairing_id}"
    card = await eventually(lambda: _ok_json(pair.university.call("GET", card_path, reader)))
    assert card["work_email"] == markers["e-mail"]

    # Their words at the lead: objectives, a session's place, attendance, a private note,
    # a feedback comment, a concern.
    terms = {"mentor_objectives": [markers["objective"]], "mentee_objectives": ["apps"]}
    await pair.sessions.ok("PUT", f"/relationships/{rid}/agreement", as_mentor, json=terms)
    await pair.sessions.ok(
        "POST", f"/relationships/{rid}/agreement/confirmations", as_mentee, json={"revision": 1}
    )
    starts = london(next_tuesday(1), 9)
    proposed = await pair.sessions.ok(
        "POST",
        f"/relationships/{rid}/sessions",
        as_mentor,
        json={"starts_at": starts, "format": "in-person", "place": markers["place"]},
    )
    session_id = proposed["sessions"][-1]["id"]
    await pair.sessions.ok(
        "POST", f"/relationships/{rid}/sessions/{session_id}/confirmation", as_mentee
    )
    runtime = federation.runtime(pair.hospital.id, "sessions")
    later = MessageBus(
        runtime.unit_of_work_factory(SessionsUnitOfWork, sessions_wire),
        SessionsHandlers(
            pair.hospital.id, clock=lambda: datetime.now(UTC) + timedelta(days=30)
        ).handlers(),
        runtime.telemetry.tracer,
    )
    await later.handle(
        sessions_commands.RecordAttendance(
            principal=Principal(
                pair.university.id,
                mentor["subject"],
                frozenset({Role.PARTICIPANT}),
                mentor["ref"],
            ),
            relationship_id=rid,
            session_id=session_id,
            attended=Attendance.HELD,
            note=markers["note"],
        )
    )
    as_respondent = await pair.feedback.participant(mentor)
    [mine] = await pair.feedback.ok("GET", "/feedback/me", as_respondent)
    key = mine["instruments"][0]["key"]
    await pair.feedback.ok(
        "PUT",
        f"/windows/{mine['window']['id']}/answers/{key}",
        as_respondent,
        json={"answers": all_items(key, 5), "comment": markers["comment"]},
    )
    await pair.feedback.ok(
        "POST",
        "/concerns",
        as_respondent,
        json={"relationship_id": rid, "category": "other", "text": markers["concern"]},
    )
    before = await every_database(federation)
    assert all(m in before for m in markers.values() if m != markers["subject"])
    return Participation(pair, markers, card_path, reader)


async def test_after_erasure_no_marker_of_the_person_remains_on_the_log_stores_logs_or_traces(
    federation: Federation, spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    """Attacks 1, 2 and 4: after `DELETE /participants/{id}`, the contact card still opened
    from the retained identity topic with the recipient's key, and the lead's sessions store
    kept the person's objectives, session places and attendance."""
    async with httpx.AsyncClient(timeout=60) as client:
        took_part = await took_part_everywhere(federation, client)
        pair, markers = took_part.pair, took_part.markers
        mentor = pair.mentor
        erased = await pair.university.call(
            "DELETE",
            f"/participants/{mentor['id']}",
            await pair.university.person(mentor["subject"]),
        )
        assert erased.status_code == 200, erased.text
        card = await pair.university.call("GET", took_part.card_path, took_part.reader)
        assert card.status_code == 404

        async def nothing_left_in_stores() -> list[str]:
            text = await every_database(federation)
            return [] if any(m in text for m in markers.values()) else ["clean"]

        await eventually(nothing_left_in_stores, within=60)
        await assert_words_and_attendance_gone(pair)

    found = {
        "event log (sealed fields opened with every key)": await everything_on_the_log(federation),
        "databases": await every_database(federation),
        "logs": "\n".join(
            r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records
        ),
        "traces": every_span(spans),
    }
    leaks = {
        (where, what) for where, text in found.items() for what, m in markers.items() if m in text
    }
    assert leaks == set()


async def assert_words_and_attendance_gone(pair: Pair) -> None:
    as_mentee = await pair.sessions.participant(pair.mentee)
    ended = await pair.sessions.ok("GET", f"/relationships/{pair.relationship_id}", as_mentee)
    assert ended["status"] == "ended" and ended["agreement"] is None
    assert all(pair.mentor["ref"] not in s["attendance"] for s in ended["sessions"])
    assert all(s["place"] is None and s["link"] is None for s in ended["sessions"])


async def test_after_a_withdrawal_from_the_program_the_lead_keeps_none_of_their_words(
    federation: Federation,
) -> None:
    """Attack 2, the same on a program-only withdrawal: the person stays at home, but the
    lead's stores drop what they wrote there and the card is no longer given."""
    async with httpx.AsyncClient(timeout=60) as client:
        took_part = await took_part_everywhere(federation, client)
        pair, markers = took_part.pair, took_part.markers
        withdrawn = await pair.university.withdraw(pair.mentor, pair.program["id"])
        assert withdrawn.status_code == 200, withdrawn.text
        card = await pair.university.call("GET", took_part.card_path, took_part.reader)
        assert card.status_code == 404
        written_at_the_lead = [
            markers[k] for k in ("objective", "place", "note", "comment", "concern")
        ]

        async def lead_stores_clean() -> list[str]:
            text = "\n".join(
                [await database_text(federation, pair.hospital.id, service) for service in SERVICES]
            )
            return [] if any(m in text for m in written_at_the_lead) else ["clean"]

        await eventually(lead_stores_clean, within=60)
        await assert_words_and_attendance_gone(pair)
        # At home the person is still there, with their profile.
        home = await database_text(federation, pair.university.id, "identity")
        assert markers["name"] in home


async def _ok_json(request: Awaitable[httpx.Response]) -> dict[str, Any]:
    response = await request
    return dict(response.json()) if response.status_code == 200 else {}


async def test_an_uninvolved_member_reads_who_enrolled_where_but_no_profile(
    pair: Pair, federation: Federation
) -> None:
    """Attack 11: every institution's principal reads every topic, so a member that is no
    partner of the program read enrolled people's profiles (profession, topics, availability,
    reporting line) off the home's identity topic."""
    outsider = federation.institutions[2].id  # a member of the federation
    program = await publish_program(pair.hospital, [pair.university.id])  # not the centre's
    await known_at(pair.university, program["id"])
    person = await pair.university.register(
        **junior(availability={"time_zone": "Pacific/Chatham", "slots": []})
    )
    await enrol(pair.university, person, program, CONSENT)
    keys = {i: InstitutionKeys.load(path) for i, path in federation.key_files.items()}

    async def enrolled() -> list[tuple[dict[str, str], Any]]:
        return [
            (h, body)
            for h, body in await pair.university.events()
            if body.get("participant_ref") == person["ref"] and "profile" in body
        ]

    [(headers, body)] = await eventually(enrolled)
    assert headers["ce_type"] == "org.telemachus.identity.participant-enrolled.v2"
    # What the outsider sees: a pseudonym enrolled in a program, and which fields it shared.
    visible = {k: v for k, v in body.items() if k != "profile"}
    assert visible == {
        "participant_ref": person["ref"],
        "home_institution": pair.university.id,
        "program_id": program["id"],
        "lead_institution": pair.hospital.id,
        "consented_fields": visible["consented_fields"],
        "sequence": 1,  # its first event: nothing about the person
    }
    assert sorted(visible["consented_fields"]) == sorted(CONSENT)
    text = json.dumps(body)
    assert "Pacific/Chatham" not in text and "e-medicine" not in text and "nursing" not in text
    event = ParticipantEnrolledV2.model_validate(body)
    for institution in (outsider, pair.university.id):
        with pytest.raises(SealError):
            event.opened(keys[institution])
    # The lead opens it, and its pairing pool has the person with their profile.
    availability = event.opened(keys[pair.hospital.id]).profile.availability
    assert availability is not None and availability.time_zone == "Pacific/Chatham"
    lead = await pair.pairing.coordinator(pair.hospital.id)

    async def pooled() -> list[Any]:
        pool = await pair.pairing.call("GET", f"/programs/{program['id']}/pool", lead)
        found = pool.json() if pool.status_code == 200 else []
        return [c for c in found if c["participant_ref"] == person["ref"]]

    assert await eventually(pooled)
