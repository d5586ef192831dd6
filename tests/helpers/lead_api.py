"""One service of a program's lead institution, as its participants and coordinators call
it: participants with a token from their home issuer (audience the lead, with `ref`),
coordinators of the lead or a partner with their own issuer's token."""

from __future__ import annotations

import json
from typing import Any

import httpx

from telemachus.cli.dev_idp import groups_for
from telemachus.cli.federation import Federation
from telemachus.shared.contracts.topics import ServiceName, event_topic
from telemachus.shared.security.tokens import Role
from telemachus.shared.testing.kafka import headers_of, read_topic
from tests.helpers.sites import Site, bearer


class LeadApi:
    def __init__(
        self, federation: Federation, lead: Site, client: httpx.AsyncClient, service: ServiceName
    ) -> None:
        self.f = federation
        self.lead = lead.id
        self.service: ServiceName = service
        self.url = federation.url(lead.id, service)
        self.client = client

    async def participant(self, person: dict[str, Any]) -> dict[str, str]:
        """Signed in at home, with a token exchanged there for the lead's services."""
        home = person["ref"].split(":")[0]
        return bearer(await self.f.sign_in(home, person["subject"], audience=self.lead))

    async def coordinator(
        self, institution: str, login: str | None = None, *, exchanged: bool = False
    ) -> dict[str, str]:
        """A coordinator of the lead (its IdP's token, or `exchanged` at home as the portal
        does) or of a partner (exchanged)."""
        return await self.staff(
            institution, login or f"coord@{institution}", exchanged, Role.COORDINATOR
        )

    async def staff(
        self, institution: str, login: str, exchanged: bool, *roles: Role
    ) -> dict[str, str]:
        """`login` at `institution` in the IdP groups of `roles`."""
        audience = None if institution == self.lead and not exchanged else self.lead
        return bearer(
            await self.f.sign_in(institution, login, *groups_for(*roles), audience=audience)
        )

    async def call(
        self, method: str, path: str, headers: dict[str, str], **kw: Any
    ) -> httpx.Response:
        return await self.client.request(method, self.url + path, headers=headers, **kw)

    async def ok(self, method: str, path: str, headers: dict[str, str], **kw: Any) -> Any:
        response = await self.call(method, path, headers, **kw)
        assert response.status_code < 300, response.text
        return response.json()

    async def pool_refs(self, program_id: str) -> list[str]:
        """Who is in the program's pool (pairing), as the lead's coordinator sees it."""
        response = await self.call(
            "GET", f"/programs/{program_id}/pool?limit=1000", await self.coordinator(self.lead)
        )
        assert response.status_code == 200, response.text
        return [c["participant_ref"] for c in response.json()]

    async def events(self) -> list[tuple[str, dict[str, Any]]]:
        """(kind, body) of everything on the service's topic, e.g. ("session-held", {...})."""
        records = await read_topic(
            self.f.kafka_bootstrap_servers, event_topic(self.lead, self.service)
        )
        return [(headers_of(r)["ce_type"].split(".")[-2], json.loads(r.value)) for r in records]
