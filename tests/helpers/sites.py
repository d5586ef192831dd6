"""Identity's API as a test drives it: an institution's coordinator and people, programs
and enrolments. Shared by the tests of every service that starts from enrolled people."""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from telemachus.cli.dev_idp import groups_for
from telemachus.cli.federation import Federation
from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.pairing import PairingProposedV1
from telemachus.shared.contracts.topics import ServiceName, event_topic
from telemachus.shared.security.tokens import Role
from telemachus.shared.testing.kafka import eventually, headers_of, produce_event, read_topic
from telemachus.shared.testing.samples import envelope

CONSENT = ["career_stage", "topics_offered", "topics_sought", "languages", "availability"]


def signed(
    federation: Federation, event: IntegrationEvent, topic: str, event_id: str | None = None
) -> dict[str, str]:
    """Headers as the institution owning `topic` publishes them: signed with its key."""
    return envelope(event, topic, event_id, federation.signer(topic.split(".")[1]))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Site:
    """One institution's identity API, as its coordinator and its people call it."""

    def __init__(self, federation: Federation, index: int, client: httpx.AsyncClient) -> None:
        self.f = federation
        self.id = federation.institutions[index].id
        self.url = federation.url(self.id, "identity")
        self.client = client
        self.coordinator: dict[str, str] = {}

    @classmethod
    async def open(cls, federation: Federation, index: int, client: httpx.AsyncClient) -> Site:
        """The institution's identity, its coordinator signed in at its IdP."""
        site = cls(federation, index, client)
        site.coordinator = bearer(await site.token(f"coord@{site.id}", Role.COORDINATOR))
        return site

    async def token(self, subject: str, *roles: Role) -> str:
        """Signed in at the institution's IdP as `subject`, in the groups of these roles."""
        return await self.f.sign_in(self.id, subject, *groups_for(*roles))

    async def person(self, subject: str) -> dict[str, str]:
        return bearer(await self.token(subject, Role.PARTICIPANT))

    async def call(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        return await self.client.request(
            method,
            self.url + path,
            headers=self.coordinator if headers is None else headers,
            **kwargs,
        )

    async def register(self, **overrides: Any) -> dict[str, Any]:
        tag = secrets.token_hex(3)
        body = {
            "display_name": f"Person {tag}",
            "work_email": f"p{tag}@{self.id}.example",
            "profession": "nursing",
            "career_stage": 2,
            "department": "Emergency",
            "topics_offered": [{"topic": "e-medicine", "proficiency": 4}],
            "availability": {
                "time_zone": "Australia/Sydney",
                "slots": [{"day": "tue", "start": "08:00", "end": "10:00"}],
            },
            "languages": ["en"],
            **overrides,
        }
        response = await self.call("POST", "/participants", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def withdraw(self, person: dict[str, Any], program_id: str) -> httpx.Response:
        """The person withdraws from a program at home (their profile stays)."""
        return await self.call(
            "DELETE",
            f"/participants/{person['id']}/enrolments/{program_id}",
            await self.person(person["subject"]),
        )

    async def events(self, event_type: str | None = None) -> list[tuple[dict[str, str], Any]]:
        records = await read_topic(self.f.kafka_bootstrap_servers, event_topic(self.id, "identity"))
        return [
            (headers_of(r), json.loads(r.value))
            for r in records
            if event_type is None or headers_of(r)["ce_type"] == event_type
        ]


async def publish_program(lead: Site, partners: list[str], **overrides: Any) -> dict[str, Any]:
    today = date.today()
    response = await lead.call(
        "POST",
        "/programs",
        json={
            "title": "Records and apps",
            "partner_institutions": partners,
            "topics": ["e-medicine", "apps"],
            "enrolment_opens": (today - timedelta(days=1)).isoformat(),
            "enrolment_closes": (today + timedelta(days=60)).isoformat(),
            **overrides,
        },
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def known_at(site: Site, program_id: str, **expected: Any) -> dict[str, Any]:
    async def probe() -> dict[str, Any]:
        response = await site.call("GET", f"/programs/{program_id}")
        if response.status_code != 200:
            return {}
        body = dict(response.json())
        return body if all(body[k] == v for k, v in expected.items()) else {}

    return await eventually(probe)


async def enrol(
    site: Site, person: dict[str, Any], program: dict[str, Any], consent: list[str] = CONSENT
) -> None:
    response = await site.call(
        "POST",
        f"/participants/{person['id']}/enrolments",
        await site.person(person["subject"]),
        json={"program_id": program["id"], "consented_fields": consent},
    )
    assert response.status_code == 201, response.text


def proposal_to(
    lead: str, program_id: str, mentor: dict[str, Any], respond_by: datetime
) -> PairingProposedV1:
    """A lead's proposal that `mentor` mentor someone of the lead's (not a real person)."""
    return PairingProposedV1(
        pairing_id=f"pairing_{secrets.token_hex(4)}",
        round_id=f"round_{secrets.token_hex(4)}",
        program_id=program_id,
        mode="assigned",
        mentor_ref=mentor["ref"],
        mentee_ref=f"{lead}:senior{secrets.token_hex(3)}",
        topic="e-medicine",
        score=10.0,
        respond_by=respond_by,
    )


async def publish_as_lead(
    federation: Federation, event: IntegrationEvent, service: ServiceName
) -> None:
    """`event` on the lead's topic of `service`, signed with the lead's key."""
    lead = str(getattr(event, "program_id", "")).partition(":")[0]
    topic = event_topic(lead, service)
    await produce_event(
        federation.kafka_bootstrap_servers, topic, event, signed(federation, event, topic)
    )
