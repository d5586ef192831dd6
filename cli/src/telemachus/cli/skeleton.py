"""The walking-skeleton flow, driven through the services' HTTP APIs as a user would.

A hospital leads a program with a university and a research centre; one person at each
enrols; the hospital's pairing service builds the pool from their events, runs a round,
both sides accept, a relationship opens and a feedback window opens for it. Every request
carries one trace context, so the whole flow, across services and institutions, is one
trace.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from opentelemetry import propagate, trace

from telemachus.cli.dev_idp import COORDINATORS_GROUP
from telemachus.cli.federation import Federation

Report = Callable[[str], None]
CONSENT = [
    "profession",
    "career_stage",
    "topics_offered",
    "topics_sought",
    "availability",
    "languages",
    "max_relationships",
]


class FlowError(RuntimeError):
    pass


@dataclass
class SkeletonResult:
    trace_id: str
    program_id: str
    participants: dict[str, str]  # institution -> participant ref
    round: dict[str, Any]
    pairings: list[dict[str, Any]]
    relationships: list[dict[str, Any]]
    windows: list[dict[str, Any]]
    report_html: str  # the program's evaluation page, as the lead's coordinators see it


PEOPLE = [
    # A consultant who wants to learn e-medicine; a professor who wants literature searching;
    # an early-career researcher who is expert in both and mentors them.
    {
        "display_name": "Dr Ada Consultant",
        "work_email": "ada@hospital.example",
        "profession": "medicine",
        "career_stage": 4,
        "department": "Cardiology",
        "topics_sought": [{"topic": "e-medicine", "priority": 5}],
        "availability": {
            "time_zone": "Europe/London",
            "slots": [{"day": "tue", "start": "08:00", "end": "10:00"}],
        },
        "languages": ["en"],
    },
    {
        "display_name": "Ben Researcher",
        "work_email": "ben@university.example",
        "profession": "research",
        "career_stage": 2,
        "department": "Health informatics",
        "topics_offered": [
            {"topic": "e-medicine", "proficiency": 5},
            {"topic": "literature-searching", "proficiency": 4},
        ],
        "availability": {
            "time_zone": "Europe/Paris",
            "slots": [
                {"day": "tue", "start": "09:00", "end": "12:00"},
                {"day": "thu", "start": "14:00", "end": "17:00"},
            ],
        },
        "languages": ["en"],
        "max_relationships": 2,
    },
    {
        "display_name": "Prof Cleo Professor",
        "work_email": "cleo@research.example",
        "profession": "pharmacy",
        "career_stage": 5,
        "department": "Pharmacology",
        "topics_sought": [{"topic": "literature-searching", "priority": 4}],
        "availability": {
            "time_zone": "Europe/London",
            "slots": [{"day": "thu", "start": "13:00", "end": "15:00"}],
        },
        "languages": ["en", "fr"],
    },
]


class SkeletonFlow:
    def __init__(
        self,
        federation: Federation,
        client: httpx.AsyncClient,
        tracer: trace.Tracer,
        report: Report,
        timeout: float = 60.0,
    ) -> None:
        self.f = federation
        self.client = client
        self.tracer = tracer
        self.report = report
        self.timeout = timeout
        self._coordinators: dict[str, str] = {}

    async def _call(self, method: str, url: str, token: str | None = None, **kwargs: Any) -> Any:
        # The flow's trace context travels with the request and continues in the service.
        headers = _trace_headers()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = await self.client.request(method, url, headers=headers, **kwargs)
        if response.status_code >= 400:
            raise FlowError(f"{method} {url} -> {response.status_code}: {response.text}")
        return response.json()

    async def _until(
        self, what: str, probe: Callable[[], Awaitable[Any]], *, in_trace: bool = False
    ) -> Any:
        """Poll until probe returns something truthy; polls stay out of the flow's trace."""
        started = time.monotonic()
        while True:
            if in_trace:
                value = await probe()
            else:
                with trace.use_span(trace.INVALID_SPAN):
                    value = await probe()
            if value:
                self.report(f"    ... {what} ({time.monotonic() - started:.1f}s)")
                return value
            if time.monotonic() - started > self.timeout:
                raise FlowError(f"timed out after {self.timeout:.0f}s waiting for {what}")
            await asyncio.sleep(0.1)

    async def _get(self, url: str, token: str | None = None, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        response = await self.client.get(url, params=params or None, headers=headers)
        return response.json() if response.status_code == 200 else None

    async def _coordinator(self, institution: str) -> str:
        """The coordinator signs in at their institution's IdP (in its coordinators group)."""
        if institution not in self._coordinators:
            self._coordinators[institution] = await self.f.sign_in(
                institution, f"coordinator@{institution}", COORDINATORS_GROUP
            )
        return self._coordinators[institution]

    async def run(self) -> SkeletonResult:
        institutions = [i.id for i in self.f.institutions]
        lead, partners = institutions[0], institutions[1:]
        with self.tracer.start_as_current_span("telemachus skeleton flow") as root:
            trace_id = f"{root.get_span_context().trace_id:032x}"
            today = datetime.now(UTC).date()
            self.report(f"1. A coordinator at {lead} publishes a program with {partners}")
            program = await self._call(
                "POST",
                f"{self.f.url(lead, 'identity')}/programs",
                await self._coordinator(lead),
                json={
                    "title": "Digital health, both ways",
                    "partner_institutions": partners,
                    "topics": ["e-medicine", "literature-searching", "clinician-well-being"],
                    "pairing_mode": "assigned",
                    "enrolment_opens": (today - timedelta(days=1)).isoformat(),
                    "enrolment_closes": (today + timedelta(days=30)).isoformat(),
                },
            )
            program_id = program["id"]
            self.report(f"   program {program_id}")
            for partner in partners:
                url = f"{self.f.url(partner, 'identity')}/programs/{program_id}"
                await self._until(
                    f"{partner} knows the program",
                    functools.partial(self._get, url, await self._coordinator(partner)),
                )

            self.report("2. One person at each institution registers and enrols with consent")
            refs: dict[str, str] = {}
            subjects: dict[str, tuple[str, str]] = {}  # ref -> (home institution, subject)
            for index, institution in enumerate(institutions):
                base = self.f.url(institution, "identity")
                person = await self._call(
                    "POST",
                    f"{base}/participants",
                    await self._coordinator(institution),
                    json=PEOPLE[index],
                )
                # Consent is the person's own act: they sign in and enrol themselves.
                await self._call(
                    "POST",
                    f"{base}/participants/{person['id']}/enrolments",
                    await self.f.sign_in(institution, person["subject"]),
                    json={"program_id": program_id, "consented_fields": CONSENT},
                )
                refs[institution] = person["ref"]
                subjects[person["ref"]] = (institution, person["subject"])
                self.report(f"   {institution}: {person['ref']} enrolled")

            pairing_url = self.f.url(lead, "pairing")
            self.report(f"3. {lead}'s pairing service builds the pool from enrolment events")

            coordinator = await self._coordinator(lead)

            async def full_pool() -> Any:
                pool = await self._get(f"{pairing_url}/programs/{program_id}/pool", coordinator)
                return pool if pool and len(pool) == len(institutions) else None

            await self._until("all enrolments are in the pool", full_pool)

            self.report("4. The coordinator opens a round, computes it, reviews and publishes")
            rounds = f"{pairing_url}/programs/{program_id}/rounds"
            opened_round = await self._call("POST", rounds, coordinator, json={})
            computed = await self._call(
                "POST", f"{pairing_url}/rounds/{opened_round['id']}/compute", coordinator
            )
            for ref, why in computed["unmatched"].items():
                self.report(f"   unmatched: {ref}: {why}")
            round_view = await self._call(
                "POST", f"{pairing_url}/rounds/{opened_round['id']}/publish", coordinator
            )
            pairings = round_view["pairings"]
            if not pairings:
                raise FlowError(f"the round proposed nothing: {round_view['round']['unmatched']}")
            for pairing in pairings:
                self.report(
                    f"   proposed: {pairing['mentor_ref']} mentors "
                    f"{pairing['mentee_ref']} on {pairing['topic']} "
                    f"(score {pairing['score']}: "
                    + "; ".join(
                        f"{t['name']} +{t['points']}" for t in pairing["explanation"]["terms"]
                    )
                    + ")"
                )

            self.report(
                "5. Both sides of each pairing accept, each signed in at home with a token "
                "exchanged for the lead"
            )
            for pairing in pairings:
                for ref in (pairing["mentee_ref"], pairing["mentor_ref"]):
                    home, subject = subjects[ref]
                    token = await self.f.sign_in(home, subject, audience=lead)
                    await self._call(
                        "POST",
                        f"{pairing_url}/pairings/{pairing['id']}/responses",
                        token,
                        json={"decision": "accept"},
                    )
            self.report("   PairingConfirmed published for each")

            self.report(f"6. {lead}'s sessions service opens the relationships")
            sessions_url = self.f.url(lead, "sessions")

            async def relationships() -> Any:
                found = await self._get(
                    f"{sessions_url}/programs/{program_id}/relationships", coordinator
                )
                return found if found and len(found) == len(pairings) else None

            opened = await self._until("RelationshipStarted for every pairing", relationships)

            self.report(f"7. {lead}'s feedback service opens a baseline feedback window")
            feedback_url = self.f.url(lead, "feedback")

            async def windows() -> Any:
                found = await self._get(
                    f"{feedback_url}/programs/{program_id}/feedback-windows", coordinator
                )
                ids = {w["relationship_id"] for w in found or []}
                return found if ids >= {r["id"] for r in opened} else None

            opened_windows = await self._until("a feedback window per relationship", windows)

            self.report(f"8. {lead}'s coordinator reads the program's evaluation report")
            page = await self.client.get(
                f"{feedback_url}/programs/{program_id}/report.html",
                headers={"Authorization": f"Bearer {coordinator}"},
            )
            if page.status_code != 200:
                raise FlowError(f"evaluation report: {page.status_code} {page.text[:200]}")

        return SkeletonResult(
            trace_id,
            program_id,
            refs,
            round_view["round"],
            pairings,
            opened,
            opened_windows,
            page.text,
        )


def _trace_headers() -> dict[str, str]:
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return headers
