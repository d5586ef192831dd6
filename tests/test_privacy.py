"""Privacy under attack (issue 14), on the real local broker and store.

Each test performs an attack an outsider or a curious insider tried, with the platform's
own APIs, tokens and Kafka clients, and checks that it now recovers nothing or is refused.
A hospital leads a program with a university and a research centre; a university junior
mentors a hospital senior through a real round, both accept, sessions opens the
relationship and feedback its baseline window.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from bson import json_util
from pymongo import AsyncMongoClient

from telemachus.cli.federation import Federation
from telemachus.shared.security.tokens import Role, audience_of
from telemachus.shared.testing.kafka import eventually
from tests.helpers.lead_api import LeadApi
from tests.helpers.sites import Site, bearer, enrol, known_at, publish_program
from tests.test_feedback import all_items
from tests.test_pairing import CONSENT, junior, senior


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


async def confirmed_pair(sites: tuple[Site, Site, Site], client: httpx.AsyncClient) -> Pair:
    hospital, university, centre = sites
    program = await publish_program(hospital, [university.id, centre.id], pairing_mode="assigned")
    await known_at(university, program["id"])
    mentee = await hospital.register(**senior(career_stage=5))
    mentor = await university.register(**junior())
    await enrol(hospital, mentee, program, CONSENT)
    await enrol(university, mentor, program, CONSENT)
    pairing = LeadApi(hospital.f, hospital, client, "pairing")
    lead = pairing.coordinator(hospital.id)

    async def pooled() -> bool:
        pool = await pairing.ok("GET", f"/programs/{program['id']}/pool", lead)
        return len(pool) == 2

    await eventually(pooled)
    opened = await pairing.ok("POST", f"/programs/{program['id']}/rounds", lead, json={})
    await pairing.ok("POST", f"/rounds/{opened['id']}/compute", lead)
    published = await pairing.ok("POST", f"/rounds/{opened['id']}/publish", lead)
    [proposal] = published["pairings"]
    for person in (mentor, mentee):
        await pairing.ok(
            "POST",
            f"/pairings/{proposal['id']}/responses",
            pairing.participant(person),
            json={"decision": "accept"},
        )
    sessions = LeadApi(hospital.f, hospital, client, "sessions")
    feedback = LeadApi(hospital.f, hospital, client, "feedback")
    relationship_id = f"relationship_{proposal['id']}"

    async def opened_everywhere() -> bool:
        relationship = await sessions.call(
            "GET", f"/relationships/{relationship_id}", sessions.participant(mentor)
        )
        windows = await feedback.call("GET", "/feedback/me", feedback.participant(mentor))
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


@pytest.fixture(scope="module")
async def pair(federation: Federation) -> AsyncIterator[Pair]:
    """Read-only for the tests that use it: each attack leaves the pair as it was."""
    async with httpx.AsyncClient(timeout=60) as client:
        sites = (
            Site(federation, 0, client),
            Site(federation, 1, client),
            Site(federation, 2, client),
        )
        yield await confirmed_pair(sites, client)


async def test_a_ref_claim_opens_a_persons_records_only_with_the_participant_role(
    pair: Pair, federation: Federation
) -> None:
    """Attack 9: integrator, auditor and coordinator tokens carrying a party's `ref` read
    that party's pairing, relationship and own answers."""
    mentor = pair.mentor
    windows = await pair.feedback.ok("GET", "/feedback/me", pair.feedback.participant(mentor))
    window = windows[0]["window"]
    key = windows[0]["instruments"][0]["key"]
    answer = await pair.feedback.ok(
        "PUT",
        f"/windows/{window['id']}/answers/{key}",
        pair.feedback.participant(mentor),
        json={"answers": all_items(key, 4)},
    )
    own = {
        pair.pairing: f"/pairings/{pair.pairing_id}",
        pair.sessions: f"/relationships/{pair.relationship_id}",
        pair.feedback: f"/answers/{answer['id']}",
    }
    for api, path in own.items():
        allowed = await api.call("GET", path, api.participant(mentor))
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
        pair.feedback.participant(pair.mentor),
        json={"relationship_id": pair.relationship_id, "category": "other"},
    )
    subject = f"alice.smith@{pair.university.id}.example"
    partner = bearer(
        federation.token(pair.university.id, subject, Role.COORDINATOR, audience=pair.hospital.id)
    )
    followed = await pair.feedback.ok(
        "POST", f"/concerns/{concern['id']}/follow-up", partner, json={"status": "acknowledged"}
    )
    [update] = followed["updates"]
    assert update["by"].startswith(f"{pair.university.id}:coordinator-")
    lead = pair.feedback.coordinator(pair.hospital.id)
    seen = await pair.feedback.ok("GET", f"/programs/{pair.program['id']}/concerns", lead)
    assert seen and "alice.smith" not in json.dumps(seen)
    assert "alice.smith" not in await database_text(federation, pair.hospital.id, "feedback")
