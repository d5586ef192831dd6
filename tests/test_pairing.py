"""Pairing through its HTTP API and its events, on the real local broker and store.

A hospital leads a program with a university and a research centre. People enrol at
home; the hospital's pairing service builds the pool from their events and runs rounds.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from telemachus.cli.dev_idp import groups_for
from telemachus.cli.federation import Federation
from telemachus.pairing.domain import commands
from telemachus.pairing.service_layer.handlers import PairingHandlers
from telemachus.pairing.service_layer.publishing import to_wire
from telemachus.pairing.service_layer.unit_of_work import PairingUnitOfWork
from telemachus.shared.contracts.identity import ParticipantEnrolledV1, SharedProfileV1
from telemachus.shared.contracts.sessions import RematchRequestedV1
from telemachus.shared.contracts.topics import dead_letter_topic, event_topic
from telemachus.shared.runtime import dead_letter
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.security.tokens import Role
from telemachus.shared.testing.kafka import eventually, headers_of, produce_event, read_topic
from tests.helpers.sites import Site, bearer, enrol, known_at, publish_program, signed

CONSENT = [
    "profession",
    "career_stage",
    "line_manager",
    "topics_offered",
    "topics_sought",
    "availability",
    "languages",
    "max_relationships",
]
TUESDAY_MORNING = {
    "time_zone": "Europe/London",
    "slots": [{"day": "tue", "start": "08:00", "end": "11:00"}],
}


def senior(**overrides: Any) -> dict[str, Any]:
    return {
        "profession": "medicine",
        "career_stage": 4,
        "topics_offered": [],
        "topics_sought": [{"topic": "e-medicine", "priority": 5}],
        "availability": TUESDAY_MORNING,
        **overrides,
    }


def junior(**overrides: Any) -> dict[str, Any]:
    return {
        "profession": "nursing",
        "career_stage": 2,
        "topics_offered": [{"topic": "e-medicine", "proficiency": 4}],
        "availability": {
            "time_zone": "Europe/Paris",  # 09:00-12:00 Paris is 08:00-11:00 London
            "slots": [{"day": "tue", "start": "09:00", "end": "12:00"}],
        },
        **overrides,
    }


class PairingApi:
    """The lead's pairing API, as coordinators and participants of all three call it."""

    def __init__(self, federation: Federation, lead: Site, client: httpx.AsyncClient) -> None:
        self.f = federation
        self.lead = lead.id
        self.url = federation.url(lead.id, "pairing")
        self.client = client
        self.coordinator: dict[str, str] = {}

    @classmethod
    async def open(
        cls, federation: Federation, lead: Site, client: httpx.AsyncClient
    ) -> PairingApi:
        api = cls(federation, lead, client)
        api.coordinator = await api.coordinator_of(lead)
        return api

    async def participant(self, site: Site, person: dict[str, Any]) -> dict[str, str]:
        """Signed in at home, with a token exchanged there for the lead's services."""
        return bearer(await self.f.sign_in(site.id, person["subject"], audience=self.lead))

    async def coordinator_of(self, site: Site) -> dict[str, str]:
        audience = None if site.id == self.lead else self.lead
        return bearer(
            await self.f.sign_in(
                site.id, f"coord@{site.id}", *groups_for(Role.COORDINATOR), audience=audience
            )
        )

    async def call(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        return await self.client.request(
            method, self.url + path, headers=self.coordinator if headers is None else headers, **kw
        )

    async def ok(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> Any:
        response = await self.call(method, path, headers, **kw)
        assert response.status_code < 300, response.text
        return response.json()

    async def pool_of(self, program_id: str, size: int) -> list[dict[str, Any]]:
        async def probe() -> list[dict[str, Any]]:
            response = await self.call("GET", f"/programs/{program_id}/pool")
            pool = response.json() if response.status_code == 200 else []
            return pool if len(pool) == size else []

        return await eventually(probe)

    async def round(self, program_id: str, **body: Any) -> dict[str, Any]:
        opened = await self.ok("POST", f"/programs/{program_id}/rounds", json=body)
        return dict(await self.ok("POST", f"/rounds/{opened['id']}/compute"))

    async def events(self, event_type: str) -> list[dict[str, Any]]:
        records = await read_topic(
            self.f.kafka_bootstrap_servers, event_topic(self.lead, "pairing")
        )
        return [json.loads(r.value) for r in records if headers_of(r)["ce_type"] == event_type]

    async def events_about(self, event_type: str, pairings: set[str]) -> list[dict[str, Any]]:
        """The events of this type about these pairings, once there is one for each (the
        topic is shared with other tests: some events of the type may be there before)."""

        async def all_there() -> list[dict[str, Any]]:
            found = [e for e in await self.events(event_type) if e["pairing_id"] in pairings]
            return found if {e["pairing_id"] for e in found} == pairings else []

        return await eventually(all_there)


def pairing_ids(published: dict[str, Any]) -> set[str]:
    return {p["id"] for p in published["pairings"]}


async def people(
    site: Site, program: dict[str, Any], *profiles: dict[str, Any]
) -> list[dict[str, Any]]:
    registered = []
    for profile in profiles:
        person = await site.register(**profile)
        await enrol(site, person, program, CONSENT)
        registered.append(person)
    return registered


def pairs(round_: dict[str, Any]) -> set[tuple[str, str]]:
    return {(p["mentor_ref"], p["mentee_ref"]) for p in round_["proposals"]}


async def test_a_round_runs_end_to_end_across_three_institutions(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    hospital, university, centre = sites
    program = await publish_program(hospital, [university.id, centre.id], pairing_mode="assigned")
    await known_at(university, program["id"])
    await known_at(centre, program["id"])
    async with httpx.AsyncClient(timeout=60) as client:
        pairing = await PairingApi.open(federation, hospital, client)
        [boss] = await people(hospital, program, senior(career_stage=5))
        [report] = await people(
            hospital,
            program,
            junior(
                line_manager_id=boss["id"],
                topics_offered=[{"topic": "e-medicine", "proficiency": 5}],
            ),
        )
        [dean] = await people(university, program, senior(profession="education", career_stage=5))
        [nurse] = await people(university, program, junior(max_relationships=2))
        [night_owl] = await people(
            centre,
            program,
            senior(
                availability={
                    "time_zone": "Australia/Sydney",
                    "slots": [{"day": "sat", "start": "22:00", "end": "23:30"}],
                }
            ),
        )
        await pairing.pool_of(program["id"], 5)

        # A partner's coordinator may look at its own people, not run the lead's round.
        partner = await pairing.coordinator_of(university)
        refused = await pairing.call("POST", f"/programs/{program['id']}/rounds", partner, json={})
        assert refused.status_code == 403 and hospital.id in refused.json()["detail"]
        partner_pool = await pairing.ok("GET", f"/programs/{program['id']}/pool", partner)
        assert {c["participant_ref"] for c in partner_pool} == {dean["ref"], nurse["ref"]}

        computed = await pairing.round(program["id"])
        assert computed["status"] == "review" and computed["engine"] == "auction-optimal-v1"
        for action in ("compute", "publish"):
            denied = await pairing.call("POST", f"/rounds/{computed['id']}/{action}", partner)
            assert denied.status_code == 403, action
        # The boss is never proposed their own report; both seniors get a mentor.
        assert (report["ref"], boss["ref"]) not in pairs(computed)
        assert pairs(computed) == {(report["ref"], dean["ref"]), (nurse["ref"], boss["ref"])}
        assert "availability" in computed["unmatched"][night_owl["ref"]]
        explained = next(p for p in computed["proposals"] if p["mentee_ref"] == boss["ref"])
        assert explained["score"] == sum(t["points"] for t in explained["explanation"]["terms"])
        assert any("reverse direction" in r for r in explained["explanation"]["rules"])
        seen_by_partner = await pairing.ok("GET", f"/rounds/{computed['id']}", partner)
        assert pairs(seen_by_partner["round"]) <= pairs(computed)
        assert night_owl["ref"] not in seen_by_partner["round"]["unmatched"]

        published = await pairing.ok("POST", f"/rounds/{computed['id']}/publish")
        by_mentee = {p["mentee_ref"]: p for p in published["pairings"]}
        proposed = await pairing.events_about(
            "org.telemachus.pairing.pairing-proposed.v1", pairing_ids(published)
        )
        assert all(e["explanation"] for e in proposed)
        assert await eventually(lambda: pairing.events("org.telemachus.pairing.round-published.v1"))

        # Participants see their proposals with home-issued tokens; others' are refused.
        nurse_token = await pairing.participant(university, nurse)
        mine = await pairing.ok("GET", "/pairings/me", nurse_token)
        assert [p["mentee_ref"] for p in mine] == [boss["ref"]]
        own_audience = bearer(
            federation.token(university.id, nurse["subject"], Role.PARTICIPANT, ref=nurse["ref"])
        )
        assert (await pairing.call("GET", "/pairings/me", own_audience)).status_code == 401
        forged = bearer(
            federation.token(
                centre.id, "x", Role.PARTICIPANT, audience=hospital.id, ref=nurse["ref"]
            )
        )
        assert (await pairing.call("GET", "/pairings/me", forged)).status_code == 401
        stranger = await pairing.call(
            "POST",
            f"/pairings/{by_mentee[dean['ref']]['id']}/responses",
            nurse_token,
            json={"decision": "accept"},
        )
        assert stranger.status_code == 403

        # The nurse and the boss accept: confirmed. The dean declines: both go back.
        for site, person in ((university, nurse), (hospital, boss)):
            await pairing.ok(
                "POST",
                f"/pairings/{by_mentee[boss['ref']]['id']}/responses",
                await pairing.participant(site, person),
                json={"decision": "accept"},
            )
        await pairing.ok(
            "POST",
            f"/pairings/{by_mentee[dean['ref']]['id']}/responses",
            await pairing.participant(university, dean),
            json={"decision": "decline"},
        )
        await pairing.events_about(
            "org.telemachus.pairing.pairing-confirmed.v1", {by_mentee[boss["ref"]]["id"]}
        )
        declined = await pairing.events_about(
            "org.telemachus.pairing.pairing-declined.v1", {by_mentee[dean["ref"]]["id"]}
        )
        assert [e["reason"] for e in declined] == ["declined"]

        # Next round: the dean is back in the pool, but not with the report they declined;
        # the nurse has one place left and takes the dean.
        again = await pairing.round(program["id"])
        assert pairs(again) == {(nurse["ref"], dean["ref"])}
        assert (report["ref"], dean["ref"]) not in pairs(again)


async def test_ranked_round_follows_what_participants_ranked(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    hospital, university, centre = sites
    program = await publish_program(hospital, [university.id, centre.id], pairing_mode="ranked")
    async with httpx.AsyncClient(timeout=60) as client:
        pairing = await PairingApi.open(federation, hospital, client)
        a, b = await people(hospital, program, senior(), senior(profession="pharmacy"))
        strong, weak = await people(
            university,
            program,
            junior(topics_offered=[{"topic": "e-medicine", "proficiency": 5}]),
            junior(topics_offered=[{"topic": "e-medicine", "proficiency": 1}]),
        )
        await pairing.pool_of(program["id"], 4)
        opened = await pairing.ok("POST", f"/programs/{program['id']}/rounds", json={})
        assert opened["mode"] == "ranked"
        seen = await pairing.ok(
            "GET", f"/rounds/{opened['id']}/candidates/me", await pairing.participant(hospital, a)
        )
        assert [c["participant_ref"] for c in seen] == [strong["ref"], weak["ref"]]
        assert all(c["role"] == "mentor" and c["explanation"]["terms"] for c in seen)
        # A prefers the weaker mentor (self-identification), who prefers A back.
        for site, person, ranked in (
            (hospital, a, [weak["ref"], strong["ref"]]),
            (university, weak, [a["ref"]]),
        ):
            await pairing.ok(
                "PUT",
                f"/rounds/{opened['id']}/rankings/me",
                await pairing.participant(site, person),
                json={"ranked": ranked},
            )
        computed = await pairing.ok("POST", f"/rounds/{opened['id']}/compute")
        assert computed["engine"] == "deferred-acceptance-v1"
        assert pairs(computed) == {(weak["ref"], a["ref"]), (strong["ref"], b["ref"])}
        published = await pairing.ok("POST", f"/rounds/{opened['id']}/publish")

        # The deadline sweep, run with a clock past the answer date, expires them.
        runtime = federation.runtime(hospital.id, "pairing")
        later = datetime.now(UTC) + timedelta(days=30)
        sweeper = MessageBus(
            runtime.unit_of_work_factory(PairingUnitOfWork, to_wire),
            PairingHandlers(hospital.id, clock=lambda: later).handlers(),
            runtime.telemetry.tracer,
        )
        # At least its own two: other tests' open proposals in this shared federation go too.
        assert await sweeper.handle(commands.ExpireOverdue()) >= 2
        await pairing.events_about(
            "org.telemachus.pairing.pairing-expired.v1", pairing_ids(published)
        )
        own = next(p for p in published["pairings"] if p["mentee_ref"] == a["ref"])
        late = await pairing.call(
            "POST",
            f"/pairings/{own['id']}/responses",
            await pairing.participant(hospital, a),
            json={"decision": "accept"},
        )
        assert late.status_code == 409


async def test_withdrawals_profile_changes_rematches_and_deadlines(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    hospital, university, centre = sites
    program = await publish_program(hospital, [university.id, centre.id], pairing_mode="assigned")
    bootstrap = federation.kafka_bootstrap_servers
    async with httpx.AsyncClient(timeout=60) as client:
        pairing = await PairingApi.open(federation, hospital, client)
        s1, s2 = await people(hospital, program, senior(), senior(profession="pharmacy"))
        [j1] = await people(university, program, junior(max_relationships=2))
        await pairing.pool_of(program["id"], 3)
        first = await pairing.round(program["id"])
        assert pairs(first) == {(j1["ref"], s1["ref"]), (j1["ref"], s2["ref"])}
        published = await pairing.ok("POST", f"/rounds/{first['id']}/publish")
        by_mentee = {p["mentee_ref"]: p for p in published["pairings"]}

        # s2 withdraws at home: gone from the pool, its open proposal withdrawn.
        withdrawn = await hospital.withdraw(s2, program["id"])
        assert withdrawn.status_code < 300, withdrawn.text
        await pairing.pool_of(program["id"], 2)
        declined = await pairing.events_about(
            "org.telemachus.pairing.pairing-declined.v1", {by_mentee[s2["ref"]]["id"]}
        )
        assert [e["reason"] for e in declined] == ["withdrawn"]

        # A profile change at home reaches the pool.
        changed = await university.call(
            "PATCH",
            f"/participants/{j1['id']}",
            json={
                "topics_offered": [
                    {"topic": "apps", "proficiency": 3},
                    {"topic": "e-medicine", "proficiency": 4},
                ]
            },
        )
        assert changed.status_code == 200, changed.text

        async def apps_offered() -> bool:
            pool = (await pairing.call("GET", f"/programs/{program['id']}/pool")).json()
            mine = next(c for c in pool if c["participant_ref"] == j1["ref"])
            return any(o["topic"] == "apps" for o in mine["topics_offered"])

        await eventually(apps_offered)

        # Both accept s1's pairing, then sessions reports a no-fault exit: s1 is free again
        # and is not proposed j1 a second time.
        pairing_id = by_mentee[s1["ref"]]["id"]
        for site, person in ((university, j1), (hospital, s1)):
            await pairing.ok(
                "POST",
                f"/pairings/{pairing_id}/responses",
                await pairing.participant(site, person),
                json={"decision": "accept"},
            )
        rematch = RematchRequestedV1(
            relationship_id="rel_1",
            pairing_id=pairing_id,
            program_id=program["id"],
            participant_ref=s1["ref"],
            requested_at=datetime.now(UTC),
        )
        sessions_topic = event_topic(hospital.id, "sessions")
        await produce_event(
            bootstrap, sessions_topic, rematch, signed(federation, rematch, sessions_topic)
        )

        async def ended() -> bool:
            return (await pairing.ok("GET", f"/pairings/{pairing_id}"))["status"] == "ended"

        await eventually(ended)
        after = await pairing.round(program["id"])
        assert after["proposals"] == []
        assert s1["ref"] in after["unmatched"]

        # A university cannot enrol a research centre's person: dead-lettered, not pooled.
        forged = ParticipantEnrolledV1(
            participant_ref=f"{centre.id}:{secrets.token_hex(4)}",
            home_institution=centre.id,
            program_id=program["id"],
            lead_institution=hospital.id,
            consented_fields=["career_stage"],
            profile=SharedProfileV1(career_stage=2),
        )
        topic = event_topic(university.id, "identity")
        await produce_event(bootstrap, topic, forged, signed(federation, forged, topic))

        async def letter() -> dict[str, str]:
            letters = await read_topic(bootstrap, dead_letter_topic(hospital.id, "pairing"))
            return next(
                (
                    h
                    for h in map(headers_of, letters)
                    if forged.participant_ref in h.get(dead_letter.DETAIL, "")
                ),
                {},
            )

        refused = await eventually(letter)
        assert refused[dead_letter.REASON] == "rejected"
        assert len((await pairing.call("GET", f"/programs/{program['id']}/pool")).json()) == 2


async def test_a_burst_of_answers_shares_transactions_and_each_gets_its_own_answer(
    sites: tuple[Site, Site, Site], federation: Federation, spans: InMemorySpanExporter
) -> None:
    """A round's people answering at once after its announcement: the answers are written
    in shared transactions (group commit), both sides of a pairing answering together
    confirm it once, and a refused answer stays its sender's own."""
    hospital, university, _ = sites
    program = await publish_program(hospital, [university.id], pairing_mode="assigned")
    await known_at(university, program["id"])
    async with httpx.AsyncClient(timeout=60) as client:
        pairing = await PairingApi.open(federation, hospital, client)
        juniors = await people(university, program, *(junior() for _ in range(5)))
        seniors = await people(hospital, program, *(senior() for _ in range(5)))
        await pairing.pool_of(program["id"], 10)
        computed = await pairing.round(program["id"])
        assert len(computed["proposals"]) == 5
        published = await pairing.ok("POST", f"/rounds/{computed['id']}/publish")
        site_of = {p["ref"]: (university, p) for p in juniors} | {
            p["ref"]: (hospital, p) for p in seniors
        }
        answers = []  # (pairing, the person answering)
        for p in published["pairings"]:
            answers += [(p["id"], site_of[p["mentor_ref"]]), (p["id"], site_of[p["mentee_ref"]])]
        tokens = [await pairing.participant(*who) for _, who in answers]
        first_id = answers[0][0]
        stranger = await pairing.participant(*answers[2][1])  # of another pairing

        async def answer(pairing_id: str, token: dict[str, str]) -> int:
            response = await pairing.call(
                "POST", f"/pairings/{pairing_id}/responses", token, json={"decision": "accept"}
            )
            return response.status_code

        spans.clear()
        statuses = await asyncio.gather(
            *(answer(p, token) for (p, _), token in zip(answers, tokens, strict=True)),
            answer(first_id, tokens[0]),  # the same answer twice at once: one is a conflict
            answer(first_id, stranger),  # not theirs to answer
        )
        assert sorted(statuses[:11]) == [200] * 10 + [409]
        assert statuses[11] == 403
        grouped = [s for s in spans.get_finished_spans() if s.name.startswith("handle group of")]
        assert grouped, "the burst was written one request at a time"

        ids = pairing_ids(published)
        confirmed = await pairing.events_about("org.telemachus.pairing.pairing-confirmed.v1", ids)
        assert sorted(e["pairing_id"] for e in confirmed) == sorted(ids)  # each once
        records = await read_topic(
            federation.kafka_bootstrap_servers, event_topic(hospital.id, "pairing")
        )
        traces = {
            headers_of(r)["traceparent"].split("-")[1]
            for r in records
            if headers_of(r)["ce_type"] == "org.telemachus.pairing.pairing-confirmed.v1"
            and json.loads(r.value)["pairing_id"] in ids
        }
        assert len(traces) == 5  # each confirmation in its own request's trace
