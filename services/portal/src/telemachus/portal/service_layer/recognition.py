"""A participant's certificates of contribution: their consent, kept at home, and what a
certificate says, read from their own records at each program's lead."""

from __future__ import annotations

import asyncio
from datetime import date

from telemachus.portal.adapters.services import ServiceRefused
from telemachus.portal.domain.certificate import (
    Certificate,
    Json,
    certificate,
    require_consent,
)
from telemachus.portal.domain.sessions import PortalSession
from telemachus.portal.service_layer.participation import Participation, lead_of


class Recognition(Participation):
    async def consent_to_certificate(
        self, session: PortalSession, me: Json, program_id: str, consent: bool
    ) -> None:
        await self.services.send(
            "PUT",
            self.institution,
            "identity",
            f"/participants/{me['id']}/enrolments/{program_id}/recognition",
            await self._home(session),
            json={"consent": consent},
        )

    async def certificate(
        self, session: PortalSession, me: Json, program_id: str, today: date
    ) -> Certificate:
        """Raises NoConsent before anything is read at the lead."""
        require_consent(me, program_id)
        lead = lead_of(program_id)
        program = await self.program(session, program_id)
        token = await self._at(session, lead)
        relationships, names, topics = await asyncio.gather(
            self.services.read_all(lead, "sessions", "/relationships/me", token),
            self.institutions(session),
            self.topics(session),
        )
        try:
            recognition: Json = await self.services.read(
                lead, "feedback", "/recognition/me", token, program_id=program_id
            )
        except ServiceRefused as refused:
            if refused.status not in (403, 404):
                raise
            recognition = {}  # no relationship there yet: nothing anyone said
        return certificate(me, program, relationships, recognition, names, topics, today)
