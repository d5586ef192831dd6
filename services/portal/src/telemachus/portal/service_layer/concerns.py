"""Confidential concerns as those who act on them reach them: a safeguarding contact reads
the concerns their institution's people raised, at every program's lead; a contact or a
coordinator records what was done. The lead's feedback service decides who may read
each one (never a party, never the reporter's line): the portal only asks."""

from __future__ import annotations

import asyncio
from typing import Any

from telemachus.portal.adapters.services import ServiceRefused
from telemachus.portal.domain.sessions import PortalSession
from telemachus.portal.service_layer.tokens import OnBehalf

Json = dict[str, Any]


def needing_action_first(concerns: list[Json]) -> list[Json]:
    """Escalated, then open by deadline, then in hand, then resolved."""

    def order(c: Json) -> tuple[int, str]:
        if c.get("status") == "resolved":
            return (3, str(c.get("reported_at")))
        if c.get("escalated_at"):
            return (0, str(c.get("respond_by")))
        return (1 if c.get("status") == "open" else 2, str(c.get("respond_by")))

    return sorted(concerns, key=order)


class Concerns(OnBehalf):
    async def raised_by_our_people(
        self, session: PortalSession, leads: list[str]
    ) -> tuple[list[Json], list[str]]:
        """Every concern this contact may act on, each with its lead (`_lead`), and the
        leads that could not be asked."""

        async def at(lead: str) -> list[Json]:
            token = await self.tokens.for_institution(session, lead, vouched=True)
            found = await self.services.read_all(lead, "feedback", "/safeguarding/concerns", token)
            return [{**c, "_lead": lead} for c in found]

        answers = await asyncio.gather(*(at(lead) for lead in leads), return_exceptions=True)
        concerns: list[Json] = []
        unavailable: list[str] = []
        for lead, answer in zip(leads, answers, strict=True):
            if isinstance(answer, ServiceRefused):  # not running, or cannot be reached
                unavailable.append(lead)
            elif isinstance(answer, BaseException):
                raise answer
            else:
                concerns.extend(answer)
        return needing_action_first(concerns), unavailable

    async def follow_up(
        self,
        session: PortalSession,
        lead: str,
        concern_id: str,
        step: Json,
    ) -> None:
        await self.services.send(
            "POST",
            lead,
            "feedback",
            f"/concerns/{concern_id}/follow-up",
            await self.tokens.for_institution(session, lead, vouched=True),
            json=step,
        )
