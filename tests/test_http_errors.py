"""Refusals through the HTTP APIs: clear status, the field named, nothing stored changed."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import httpx

from telemachus.cli.dev_idp import groups_for
from telemachus.cli.federation import Federation
from telemachus.shared.security.tokens import Role


def program_body(**overrides: Any) -> dict[str, Any]:
    today = date.today()
    return {
        "title": "A program",
        "topics": ["e-medicine"],
        "enrolment_opens": today.isoformat(),
        "enrolment_closes": (today + timedelta(days=5)).isoformat(),
        **overrides,
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def coordinator_client(federation: Federation, institution: str) -> httpx.AsyncClient:
    """Identity, as the institution's coordinator signed in at its IdP calls it."""
    token = await federation.sign_in(
        institution, f"coordinator@{institution}", *groups_for(Role.COORDINATOR)
    )
    return httpx.AsyncClient(
        base_url=federation.url(institution, "identity"), headers=bearer(token)
    )


def fields_named(response: httpx.Response) -> set[str]:
    """The fields an RFC 9457 problem names, as dotted paths."""
    assert response.headers["content-type"] == "application/problem+json", response.text
    return {error["field"] for error in response.json()["errors"]}


async def test_malformed_bodies_get_422_naming_the_field(federation: Federation) -> None:
    lead = federation.institutions[0].id
    async with await coordinator_client(federation, lead) as client:
        before = (await client.get("/programs")).json()
        missing = await client.post("/programs", json={"title": "No topics or dates"})
        assert missing.status_code == 422
        assert fields_named(missing) == {"topics", "enrolment_opens", "enrolment_closes"}
        wrong = await client.post("/programs", json=program_body(relationship_weeks="soon"))
        assert wrong.status_code == 422 and fields_named(wrong) == {"relationship_weeks"}
        bad_topic = await client.post("/programs", json=program_body(topics=["E Medicine!"]))
        assert bad_topic.status_code == 422 and "pattern" in bad_topic.text
        extra = await client.post("/programs", json=program_body(lead="someone-else"))
        assert extra.status_code == 422 and fields_named(extra) == {"lead"}
        not_json = await client.post(
            "/programs", content=b"{", headers={"content-type": "application/json"}
        )
        assert not_json.status_code == 422
        huge = await client.post(
            "/programs",
            content=b"x" * (2 * 1024 * 1024),
            headers={"content-type": "application/json"},
        )
        assert huge.status_code == 413
        assert (await client.get("/programs")).json() == before


async def test_domain_rules_refuse_with_a_reason_and_store_nothing(
    federation: Federation,
) -> None:
    lead, partner = federation.institutions[0].id, federation.institutions[1].id
    dee = bearer(await federation.sign_in(lead, "dee@example.org"))
    async with await coordinator_client(federation, lead) as client:
        before = (await client.get("/programs")).json()
        self_partner = await client.post(
            "/programs", json=program_body(partner_institutions=[lead])
        )
        assert self_partner.status_code == 422
        assert self_partner.json()["field"] == "partner_institutions"
        backwards = await client.post(
            "/programs",
            json=program_body(enrolment_closes=(date.today() - timedelta(days=1)).isoformat()),
        )
        problem = backwards.json()
        assert (problem["detail"], problem["field"], problem["status"]) == (
            "enrolment closes before it opens",
            "enrolment_closes",
            422,
        )
        # The occurrence: the trace an operator finds it in.
        assert re.fullmatch(r"urn:telemachus:trace:[0-9a-f]{32}", problem["instance"])
        assert problem["errors"] == [
            {"field": "enrolment_closes", "reason": "enrolment closes before it opens"}
        ]
        assert (await client.get("/programs")).json() == before

        person = (
            await client.post(
                "/participants",
                json={
                    "display_name": "Dee",
                    "work_email": "dee@example.org",
                    "profession": "nursing",
                    "career_stage": 2,
                    "topics_offered": [{"topic": "e-medicine", "proficiency": 3}],
                },
            )
        ).json()
        unknown = await client.post(
            f"/participants/{person['id']}/enrolments",
            json={"program_id": f"{partner}:doesnotexist", "consented_fields": ["career_stage"]},
            headers=dee,
        )
        assert unknown.status_code == 422 and unknown.json()["field"] == "program_id"
        not_consent = await client.post(
            f"/participants/{person['id']}/enrolments",
            json={"program_id": f"{partner}:doesnotexist", "consented_fields": ["home_address"]},
            headers=dee,
        )
        assert not_consent.status_code == 422
        assert fields_named(not_consent) == {"consented_fields.0"}
        assert (await client.get(f"/participants/{person['id']}")).json()["enrolments"] == []
        missing = await client.get("/participants/nobody-here")
        assert missing.status_code == 404
        assert missing.json()["field"] == "participant_id"


async def test_pairing_answers_are_checked(federation: Federation) -> None:
    lead = federation.institutions[0].id
    partner = federation.institutions[1].id
    # Forged on purpose: a ref no roster holds, to see how pairing answers for it.
    participant = federation.token(
        partner, "someone", Role.PARTICIPANT, audience=lead, ref=f"{partner}:abcdefgh"
    )
    async with httpx.AsyncClient(base_url=federation.url(lead, "pairing")) as client:
        anonymous = await client.post(
            "/pairings/pairing_none/responses", json={"decision": "accept"}
        )
        assert anonymous.status_code == 401
        headers = {"Authorization": f"Bearer {participant}"}
        nobody = await client.post(
            "/pairings/pairing_none/responses", json={"decision": "accept"}, headers=headers
        )
        assert nobody.status_code == 404
        bad = await client.post(
            "/pairings/pairing_none/responses",
            json={"participant_ref": "not a ref", "decision": "maybe"},
            headers=headers,
        )
        assert bad.status_code == 422
        assert fields_named(bad) == {"participant_ref", "decision"}
        coordinator = bearer(await federation.sign_in(lead, "c", *groups_for(Role.COORDINATOR)))
        no_program = await client.post(
            f"/programs/{lead}:unknown123/rounds", json={}, headers=coordinator
        )
        assert no_program.status_code == 404


async def test_health_and_readiness(federation: Federation) -> None:
    for running in federation.services.values():
        async with httpx.AsyncClient(base_url=running.url) as client:
            assert (await client.get("/health/live")).json() == {"status": "ok"}
            ready = await client.get("/health/ready")
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"] == {
                "started": "ok",
                "mongodb": "ok",
                "kafka": "ok",
                "consumers": "ok",
            }
            docs = await client.get("/openapi.json")
            assert docs.status_code == 200 and docs.json()["paths"]


async def test_each_service_documents_its_events(federation: Federation) -> None:
    lead = federation.institutions[0].id
    async with httpx.AsyncClient(base_url=federation.url(lead, "pairing")) as client:
        document = (await client.get("/asyncapi.json")).json()
        page = await client.get("/asyncapi")
    assert document["asyncapi"] == "3.0.0"
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert f"telemachus.{lead}.pairing" in addresses  # what it publishes
    assert f"telemachus.{lead}.identity" in addresses  # what it consumes
    schemas = document["components"]["schemas"]
    assert {"PairingProposedV1", "PairingConfirmedV1"} <= set(schemas)
    # Rendered here, with no script to fetch: it reads on a network without internet.
    assert page.status_code == 200 and "<script" not in page.text
    assert 'id="org.telemachus.pairing.pairing-proposed.v1"' in page.text
