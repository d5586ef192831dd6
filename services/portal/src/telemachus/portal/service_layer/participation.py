"""What a participant does, as calls to the services: their home identity for who they
are and what they consent to; each program's lead for proposals, relationships and
feedback, with a token exchanged at home that carries their pseudonymous ref."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from telemachus.portal.adapters.services import ServiceRefused
from telemachus.portal.domain.sessions import PortalSession
from telemachus.portal.service_layer.tokens import OnBehalf

Json = dict[str, Any]


def lead_of(program_id: str) -> str:
    """Program ids are `<lead institution>:<id>`."""
    return program_id.partition(":")[0]


@dataclass
class Dashboard:
    me: Json | None
    programs: list[Json]
    invitations: list[Json]
    proposals: list[Json] = field(default_factory=list)
    relationships: list[Json] = field(default_factory=list)
    feedback_due: list[Json] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)  # leads that could not be read

    @property
    def enrolled(self) -> set[str]:
        if self.me is None:
            return set()
        return {e["program_id"] for e in self.me["enrolments"] if e.get("withdrawn_at") is None}


NOTICES_SHOWN = 100


class Participation(OnBehalf):
    async def _at(self, session: PortalSession, lead: str) -> str:
        return await self.tokens.for_institution(session, lead, vouched=True)

    # Who I am, at home ------------------------------------------------------------------

    async def me(self, session: PortalSession) -> Json | None:
        try:
            found: Json = await self.services.read(
                self.institution, "identity", "/participants/me", await self._home(session)
            )
        except ServiceRefused as refused:
            if refused.status in (403, 404):
                return None  # signed in, but not on this institution's roster
            raise
        return found

    # Notices and e-mail settings, at home (identity's notifier) --------------------------

    async def notices(self, session: PortalSession, language: str) -> tuple[list[Json], int]:
        """The latest notices, newest first, in the page's language; and how many unread."""
        response = await self.services.respond(
            "GET",
            self.institution,
            "identity",
            "/notifications/me",
            await self._home(session),
            headers={"Accept-Language": language},
            params={"limit": NOTICES_SHOWN},
        )
        return list(response.json()), int(response.headers.get("X-Unread-Count", "0"))

    async def mark_read(self, session: PortalSession) -> None:
        await self.services.send(
            "POST",
            self.institution,
            "identity",
            "/notifications/me/read",
            await self._home(session),
            json={},
        )

    async def email_settings(self, session: PortalSession) -> Json:
        found: Json = await self.services.read(
            self.institution, "identity", "/notifications/me/preferences", await self._home(session)
        )
        return found

    async def save_email_settings(self, session: PortalSession, chosen: Json) -> None:
        await self.services.send(
            "PUT",
            self.institution,
            "identity",
            "/notifications/me/preferences",
            await self._home(session),
            json=chosen,
        )

    async def programs(self, session: PortalSession) -> list[Json]:
        return await self.services.read_all(
            self.institution, "identity", "/programs", await self._home(session)
        )

    async def program(self, session: PortalSession, program_id: str) -> Json:
        found: Json = await self.services.read(
            self.institution, "identity", f"/programs/{program_id}", await self._home(session)
        )
        return found

    async def institutions(self, session: PortalSession) -> dict[str, str]:
        listed = await self.services.read_all(
            self.institution, "identity", "/institutions", await self._home(session)
        )
        return {i["id"]: i["name"] for i in listed}

    async def topics(self, session: PortalSession) -> dict[str, str]:
        listed = await self.services.read_all(
            self.institution, "identity", "/topics", await self._home(session)
        )
        return {t["id"]: t["title"] for t in listed}

    async def invitations(self, session: PortalSession) -> list[Json]:
        try:
            return await self.services.read_all(
                self.institution,
                "identity",
                "/participants/me/invitations",
                await self._home(session),
            )
        except ServiceRefused as refused:
            if refused.status in (403, 404):
                return []
            raise

    async def update_profile(self, session: PortalSession, me: Json, changes: Json) -> Json:
        updated: Json = await self.services.send(
            "PATCH",
            self.institution,
            "identity",
            f"/participants/{me['id']}",
            await self._home(session),
            json=changes,
        )
        return updated

    async def enrol(
        self, session: PortalSession, me: Json, program_id: str, fields: list[str]
    ) -> None:
        await self.services.send(
            "POST",
            self.institution,
            "identity",
            f"/participants/{me['id']}/enrolments",
            await self._home(session),
            json={"program_id": program_id, "consented_fields": fields},
        )

    async def answer_invitation(
        self, session: PortalSession, invitation_id: str, accept: bool, fields: list[str]
    ) -> None:
        action = "accept" if accept else "decline"
        await self.services.send(
            "POST",
            self.institution,
            "identity",
            f"/invitations/{invitation_id}/{action}",
            await self._home(session),
            json={"consented_fields": fields} if accept else None,
        )

    async def withdraw(self, session: PortalSession, me: Json, program_id: str) -> None:
        await self.services.send(
            "DELETE",
            self.institution,
            "identity",
            f"/participants/{me['id']}/enrolments/{program_id}",
            await self._home(session),
        )

    async def erase(self, session: PortalSession, me: Json) -> None:
        await self.services.send(
            "DELETE",
            self.institution,
            "identity",
            f"/participants/{me['id']}",
            await self._home(session),
        )

    async def contact_card(self, session: PortalSession, me: Json, pairing_id: str) -> Json | None:
        """The counterpart's card, once both accepted: from their home, never copied here."""
        counterparts = await self.services.read_all(
            self.institution,
            "identity",
            f"/participants/{me['id']}/contacts",
            await self._home(session),
        )
        found = next((c for c in counterparts if c["pairing_id"] == pairing_id), None)
        if found is None:
            return None
        if found.get("card"):
            card: Json = found["card"]
            return card
        home = found["home_institution"]
        if not self.services.knows(home, "identity"):
            return None
        try:
            card = await self.services.read(
                home, "identity", f"/contact-cards/{pairing_id}", await self._at(session, home)
            )
        except ServiceRefused as refused:
            if refused.status in (403, 404):
                return None
            raise
        return card

    # At each program's lead -------------------------------------------------------------

    async def dashboard(self, session: PortalSession) -> Dashboard:
        me, programs, invitations = await asyncio.gather(
            self.me(session), self.programs(session), self.invitations(session)
        )
        board = Dashboard(me, programs, invitations)
        leads = sorted({lead_of(p) for p in board.enrolled} | self._past_leads(me))
        results = await asyncio.gather(
            *(self._at_lead(session, lead) for lead in leads), return_exceptions=True
        )
        for lead, result in zip(leads, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, ServiceRefused):
                    raise result
                board.unavailable.append(lead)
                continue
            proposals, relationships, windows = result
            board.proposals.extend(proposals)
            board.relationships.extend(relationships)
            board.feedback_due.extend(
                w | {"lead": lead}
                for w in windows
                if w["open"] and set(i["key"] for i in w["instruments"]) - set(w["answered"])
            )
        return board

    @staticmethod
    def _past_leads(me: Json | None) -> set[str]:
        return {e["lead_institution"] for e in (me or {}).get("enrolments", [])}

    async def _at_lead(
        self, session: PortalSession, lead: str
    ) -> tuple[list[Json], list[Json], list[Json]]:
        token = await self._at(session, lead)
        pairings, relationships, windows = await asyncio.gather(
            self.services.read_all(lead, "pairing", "/pairings/me", token),
            self.services.read_all(lead, "sessions", "/relationships/me", token),
            self.services.read_all(lead, "feedback", "/feedback/me", token),
        )
        for item in (*pairings, *relationships):
            item["lead"] = lead
        return pairings, relationships, windows

    async def pairing(self, session: PortalSession, lead: str, pairing_id: str) -> Json:
        found: Json = await self.services.read(
            lead, "pairing", f"/pairings/{pairing_id}", await self._at(session, lead)
        )
        return found

    async def respond(
        self, session: PortalSession, lead: str, pairing_id: str, accept: bool
    ) -> None:
        await self.services.send(
            "POST",
            lead,
            "pairing",
            f"/pairings/{pairing_id}/responses",
            await self._at(session, lead),
            json={"decision": "accept" if accept else "decline"},
        )

    async def relationship(self, session: PortalSession, lead: str, relationship_id: str) -> Json:
        found: Json = await self.services.read(
            lead, "sessions", f"/relationships/{relationship_id}", await self._at(session, lead)
        )
        return found

    async def ground_rules(self, session: PortalSession, lead: str, program_id: str) -> Json:
        found: Json = await self.services.read(
            lead, "sessions", f"/programs/{program_id}/ground-rules", await self._at(session, lead)
        )
        return found

    async def preparation(self, session: PortalSession, lead: str, program_id: str) -> Json:
        """The program's modules and which of them this person completed."""
        found: Json = await self.services.read(
            lead,
            "sessions",
            f"/programs/{program_id}/preparation/me",
            await self._at(session, lead),
        )
        return found

    async def complete_module(
        self, session: PortalSession, lead: str, program_id: str, module_id: str, answer: int
    ) -> None:
        await self.services.send(
            "POST",
            lead,
            "sessions",
            f"/programs/{program_id}/preparation/{module_id}",
            await self._at(session, lead),
            json={"answer": answer},
        )

    async def act(
        self,
        session: PortalSession,
        lead: str,
        relationship_id: str,
        action: str,
        body: Json | None,
    ) -> Json:
        """An act on a relationship: agreement, sessions, exit, rematch."""
        done: Json = await self.services.send(
            "PUT" if action == "agreement" else "POST",
            lead,
            "sessions",
            f"/relationships/{relationship_id}/{action}",
            await self._at(session, lead),
            json=body,
        )
        return done

    async def open_calendar(self, session: PortalSession, lead: str) -> str:
        link: Json = await self.services.send(
            "POST", lead, "sessions", "/calendar/me", await self._at(session, lead)
        )
        return str(link["url"])

    async def feedback_windows(self, session: PortalSession, lead: str) -> list[Json]:
        return await self.services.read_all(
            lead, "feedback", "/feedback/me", await self._at(session, lead)
        )

    async def answer(
        self,
        session: PortalSession,
        lead: str,
        window_id: str,
        instrument: str,
        answers: dict[str, int],
        comment: str | None,
    ) -> None:
        await self.services.send(
            "PUT",
            lead,
            "feedback",
            f"/windows/{window_id}/answers/{instrument}",
            await self._at(session, lead),
            json={"answers": answers, "comment": comment},
        )

    async def report_concern(
        self,
        session: PortalSession,
        lead: str,
        relationship_id: str,
        category: str,
        text: str | None,
    ) -> None:
        await self.services.send(
            "POST",
            lead,
            "feedback",
            "/concerns",
            await self._at(session, lead),
            json={"relationship_id": relationship_id, "category": category, "text": text},
        )

    async def my_concerns(self, session: PortalSession, lead: str) -> list[Json]:
        return await self.services.read_all(
            lead, "feedback", "/concerns/me", await self._at(session, lead)
        )
