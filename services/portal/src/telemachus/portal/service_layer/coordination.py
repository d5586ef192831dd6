"""What a coordinator does, as calls to the services: programs and the roster at home;
pool, rounds, relationships, concerns and the evaluation at the program's lead. A
partner's coordinator reaches the lead with an exchanged token, and the lead's services
show them only their own institution's people."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from telemachus.portal.adapters.services import Download, ServiceRefused
from telemachus.portal.domain.sessions import PortalSession
from telemachus.portal.service_layer.participation import lead_of
from telemachus.portal.service_layer.tokens import OnBehalf

Json = dict[str, Any]

COMPUTE_SECONDS = 120.0


@dataclass
class ProgramOverview:
    program: Json
    enrolled_here: int
    pool_size: int  # of the people this coordinator may see
    rounds: list[Json]
    relationships: list[Json]  # stalled first
    concerns: list[Json]
    unavailable: list[str]
    not_ready: list[Json] = field(default_factory=list)  # relationships that cannot plan yet

    @property
    def led_here(self) -> bool:
        return bool(self.program.get("_led_here"))


def stalled_first(relationships: list[Json]) -> list[Json]:
    """What needs a coordinator comes first: stalled (longest first), then active, then closed."""

    def order(r: Json) -> tuple[int, str]:
        if r.get("stalled_since") and r.get("status") == "active":
            return (0, str(r["stalled_since"]))
        return (1 if r.get("status") == "active" else 2, str(r.get("starts_on")))

    return sorted(relationships, key=order)


class Coordination(OnBehalf):
    async def _at(self, session: PortalSession, lead: str) -> str:
        return await self.tokens.for_institution(session, lead)

    async def publish_program(self, session: PortalSession, terms: Json) -> Json:
        created: Json = await self.services.send(
            "POST", self.institution, "identity", "/programs", await self._home(session), json=terms
        )
        return created

    async def overview(self, session: PortalSession, program_id: str) -> ProgramOverview:
        home, lead = await self._home(session), lead_of(program_id)
        program, enrolled, at_lead = await asyncio.gather(
            self.services.read(self.institution, "identity", f"/programs/{program_id}", home),
            self.services.count(
                self.institution, "identity", "/participants", home, program_id=program_id
            ),
            self._at_lead(session, lead, program_id),
        )
        program["_led_here"] = program["lead_institution"] == self.institution
        pool, rounds, relationships, concerns, readiness = at_lead or (0, [], [], [], [])
        return ProgramOverview(
            program,
            enrolled,
            pool,
            sorted(rounds, key=lambda r: str(r.get("created_at")), reverse=True),
            stalled_first(relationships),
            concerns,
            [] if at_lead else [lead],
            [r for r in readiness if not r.get("ready")],
        )

    async def _at_lead(
        self, session: PortalSession, lead: str, program_id: str
    ) -> tuple[int, list[Json], list[Json], list[Json], list[Json]] | None:
        """What the lead's services hold of the program; None when they cannot be read
        (the page says so and shows what home holds)."""
        try:
            token = await self._at(session, lead)
            return await asyncio.gather(
                self.services.count(lead, "pairing", f"/programs/{program_id}/pool", token),
                self.services.read_all(lead, "pairing", f"/programs/{program_id}/rounds", token),
                self.services.read_all(
                    lead, "sessions", f"/programs/{program_id}/relationships", token
                ),
                self.services.read_all(
                    lead,
                    "feedback",
                    f"/programs/{program_id}/concerns",
                    await self.tokens.for_institution(session, lead, vouched=True),
                ),
                self.services.read_all(
                    lead, "sessions", f"/programs/{program_id}/readiness", token
                ),
            )
        except ServiceRefused:
            return None

    async def report(self, session: PortalSession, program_id: str) -> Json:
        """The evaluation, as the lead's feedback service computes it (its own page: with
        hundreds of relationships it takes the longest of what a program shows)."""
        lead = lead_of(program_id)
        found: Json = await self.services.read(
            lead, "feedback", f"/programs/{program_id}/report", await self._at(session, lead)
        )
        return found

    async def evaluation_plan(self, session: PortalSession, program_id: str) -> Json:
        """The program's goals, levels and follow-up months, and the instruments' items
        that can measure a goal."""
        lead = lead_of(program_id)
        token = await self._at(session, lead)
        plan, instruments = await asyncio.gather(
            self.services.read(lead, "feedback", f"/programs/{program_id}/evaluation-plan", token),
            self.services.read_all(lead, "feedback", "/instruments", token),
        )
        return {"plan": plan, "instruments": instruments}

    async def set_evaluation_plan(
        self, session: PortalSession, program_id: str, plan: Json
    ) -> None:
        lead = lead_of(program_id)
        await self.services.send(
            "PUT",
            lead,
            "feedback",
            f"/programs/{program_id}/evaluation-plan",
            await self._at(session, lead),
            json=plan,
        )

    async def preparation(self, session: PortalSession, program_id: str) -> Json:
        """The program's modules, with their answers, and its ground rules."""
        lead = lead_of(program_id)
        token = await self._at(session, lead)
        modules, rules = await asyncio.gather(
            self.services.read(lead, "sessions", f"/programs/{program_id}/preparation", token),
            self.services.read(lead, "sessions", f"/programs/{program_id}/ground-rules", token),
        )
        return {"preparation": modules, "rules": rules}

    async def set_preparation(self, session: PortalSession, program_id: str, body: Json) -> None:
        lead = lead_of(program_id)
        await self.services.send(
            "PUT",
            lead,
            "sessions",
            f"/programs/{program_id}/preparation",
            await self._at(session, lead),
            json=body,
        )

    async def sync_roster(self, session: PortalSession, csv_text: bytes, dry_run: bool) -> Json:
        job: Json = await self.services.send(
            "POST",
            self.institution,
            "identity",
            "/participants/import-jobs",
            await self._home(session),
            content=csv_text,
            headers={"Content-Type": "text/csv"},
            params={"dry_run": str(dry_run).lower(), "accept_valid": "true"},
        )
        return job

    async def import_job(self, session: PortalSession, job_id: str) -> Json:
        found: Json = await self.services.read(
            self.institution,
            "identity",
            f"/participants/import-jobs/{job_id}",
            await self._home(session),
        )
        return found

    async def invite(
        self, session: PortalSession, program_id: str, emails: list[str], days: int
    ) -> Json:
        sent: Json = await self.services.send(
            "POST",
            self.institution,
            "identity",
            f"/programs/{program_id}/invitations",
            await self._home(session),
            json={"work_emails": emails, "expires_in_days": days},
        )
        return sent

    async def invitations(self, session: PortalSession, program_id: str) -> list[Json]:
        return await self.services.read_all(
            self.institution,
            "identity",
            f"/programs/{program_id}/invitations",
            await self._home(session),
        )

    async def open_round(self, session: PortalSession, program_id: str, request: Json) -> Json:
        lead = lead_of(program_id)
        opened: Json = await self.services.send(
            "POST",
            lead,
            "pairing",
            f"/programs/{program_id}/rounds",
            await self._at(session, lead),
            json=request,
        )
        return opened

    async def pool(self, session: PortalSession, program_id: str) -> list[Json]:
        lead = lead_of(program_id)
        return await self.services.read_all(
            lead, "pairing", f"/programs/{program_id}/pool", await self._at(session, lead)
        )

    async def round(self, session: PortalSession, lead: str, round_id: str) -> Json:
        found: Json = await self.services.read(
            lead, "pairing", f"/rounds/{round_id}", await self._at(session, lead)
        )
        return found

    async def round_act(
        self,
        session: PortalSession,
        lead: str,
        round_id: str,
        action: str,
        pair: Json | None = None,
    ) -> None:
        await self.services.send(
            "POST",
            lead,
            "pairing",
            f"/rounds/{round_id}/{action}",
            await self._at(session, lead),
            json=pair,
            # Computing runs the matching engines: seconds for pairs at 100,000 people,
            # up to about half a minute for circles; longer than any other call's wait.
            **({"timeout": COMPUTE_SECONDS} if action == "compute" else {}),
        )

    async def export(self, session: PortalSession, program_id: str, kind: str) -> Download:
        lead = lead_of(program_id)
        return await self.services.download(
            lead,
            "feedback",
            f"/programs/{program_id}/export",
            await self._at(session, lead),
            format=kind,
        )
