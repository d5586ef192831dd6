"""Circle rounds through the HTTP APIs and events, on the real local broker and store.

A hospital leads a program with a university and a research centre. Its coordinator opens
a round that forms circles (one junior lead with two or three seniors on one topic) rather
than pairs; each seat is proposed, answered and confirmed like a pair, and the confirmed
relationship knows its circle.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import httpx

from telemachus.cli.federation import Federation
from telemachus.shared.testing.kafka import eventually
from tests.helpers.lead_api import LeadApi
from tests.helpers.sites import Site, known_at, publish_program
from tests.test_pairing import PairingApi, junior, people, senior
from tests.test_sessions import london, next_tuesday


def circles_of(round_: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in round_["proposals"]:
        grouped[p["circle_id"]].append(p)
    return dict(grouped)


async def test_a_circle_round_forms_explains_and_confirms_circles_across_institutions(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    hospital, university, centre = sites
    program = await publish_program(
        hospital,
        [university.id, centre.id],
        pairing_mode="assigned",
        topics=["e-medicine", "apps"],
    )
    await known_at(university, program["id"])
    await known_at(centre, program["id"])
    async with httpx.AsyncClient(timeout=60) as client:
        pairing = await PairingApi.open(federation, hospital, client)
        [boss] = await people(hospital, program, senior(career_stage=5))
        [lead_a] = await people(
            hospital,
            program,
            junior(
                line_manager_id=boss["id"],
                topics_offered=[{"topic": "e-medicine", "proficiency": 5}],
            ),
        )
        [lead_b] = await people(
            university, program, junior(topics_offered=[{"topic": "apps", "proficiency": 4}])
        )
        e_medicine = await people(
            university, program, senior(profession="education"), senior(career_stage=5)
        )
        apps = await people(
            centre,
            program,
            *[senior(topics_sought=[{"topic": "apps", "priority": 4}]) for _ in range(3)],
        )
        everyone = [boss, lead_a, lead_b, *e_medicine, *apps]
        await pairing.pool_of(program["id"], len(everyone))
        path = f"/programs/{program['id']}/rounds"

        # Refusals name the field: circles are not formed in mixed rounds, and sizes
        # must be in order.
        mixed = await pairing.call("POST", path, json={"format": "circles", "mode": "mixed"})
        assert mixed.status_code == 422 and mixed.json()["field"] == "mode", mixed.text
        backwards = await pairing.call(
            "POST",
            path,
            json={"format": "circles", "circle_sizes": {"smallest": 4, "largest": 3}},
        )
        assert backwards.status_code == 422, backwards.text
        assert any("circle_sizes" in e["field"] for e in backwards.json()["errors"])

        opened = await pairing.ok(
            "POST", path, json={"format": "circles", "circle_sizes": {"smallest": 2, "largest": 3}}
        )
        pin = await pairing.call(
            "POST",
            f"/rounds/{opened['id']}/pins",
            json={"mentor_ref": lead_a["ref"], "mentee_ref": e_medicine[0]["ref"]},
        )
        assert pin.status_code == 409 and "circles" in pin.json()["detail"]
        computed = await pairing.ok("POST", f"/rounds/{opened['id']}/compute")
        assert computed["engine"] == "circles-milp-v1"

        # Two circles: each one lead, one topic, two or three seniors who all pass the
        # pair rules with the lead; the boss is never in their own report's circle.
        formed = circles_of(computed)
        shape = {
            (seats[0]["mentor_ref"], seats[0]["topic"]): {s["mentee_ref"] for s in seats}
            for seats in formed.values()
        }
        assert shape == {
            (lead_a["ref"], "e-medicine"): {p["ref"] for p in e_medicine},
            (lead_b["ref"], "apps"): {p["ref"] for p in apps},
        }
        for seats in formed.values():
            assert {s["mentor_ref"] for s in seats} == {seats[0]["mentor_ref"]}
            for seat in seats:
                assert seat["score"] == sum(t["points"] for t in seat["explanation"]["terms"])
                assert seat["topic"] in seat["why_this_circle"]
                assert "could join" in seat["why_this_circle"]
        assert "line-management" in computed["unmatched"][boss["ref"]]

        published = await pairing.ok("POST", f"/rounds/{computed['id']}/publish")
        ids = {p["id"] for p in published["pairings"]}
        proposed = await pairing.events_about("org.telemachus.pairing.pairing-proposed.v1", ids)
        by_circle = defaultdict(set)
        for event in proposed:
            by_circle[event["circle_id"]].add(event["mentee_ref"])
        assert sorted(map(sorted, by_circle.values())) == sorted(
            sorted(s["mentee_ref"] for s in seats) for seats in formed.values()
        )

        # Two seats answered by the lead and their seniors: confirmed, and each
        # relationship the lead's sessions opens knows its circle.
        seats = [
            next(p for p in published["pairings"] if p["mentee_ref"] == senior_["ref"])
            for senior_ in apps[:2]
        ]
        for seat, member in zip(seats, apps, strict=False):
            for site, person in ((university, lead_b), (centre, member)):
                await pairing.ok(
                    "POST",
                    f"/pairings/{seat['id']}/responses",
                    await pairing.participant(site, person),
                    json={"decision": "accept"},
                )
        confirmed = await pairing.events_about(
            "org.telemachus.pairing.pairing-confirmed.v1", {s["id"] for s in seats}
        )
        circle = seats[0]["circle_id"]
        assert {e["circle_id"] for e in confirmed} == {circle}
        sessions = LeadApi(federation, hospital, client, "sessions")
        lead_token = await sessions.participant(lead_b)
        members = [await sessions.participant(m) for m in apps[:2]]

        async def opened_relationships() -> list[dict[str, Any]]:
            response = await sessions.call("GET", "/relationships/me", lead_token)
            found = response.json() if response.status_code == 200 else []
            mine = [r for r in found if r["circle_id"] == circle]
            return mine if len(mine) == 2 else []

        relationships = await eventually(opened_relationships)
        assert {r["mentee_ref"] for r in relationships} == {m["ref"] for m in apps[:2]}
        assert {r["mentor_ref"] for r in relationships} == {lead_b["ref"]}

        # One agreement for the circle, from its lead only; each member confirms their own.
        terms = {"mentor_objectives": ["apps in clinic"], "mentee_objectives": ["the ward"]}
        member_try = await sessions.call(
            "PUT", f"/circles/{circle}/agreement", members[0], json=terms
        )
        assert member_try.status_code == 403 and member_try.json()["field"] == "circle_id"
        agreed = await sessions.ok("PUT", f"/circles/{circle}/agreement", lead_token, json=terms)
        assert [r["agreement"]["mentor_objectives"] for r in agreed] == [["apps in clinic"]] * 2
        meeting = {
            "starts_at": london(next_tuesday(1), 9),
            "format": "virtual",
            "link": "https://meet.example/circle",
        }
        # One meeting for all or none: a member who has not confirmed is named.
        by_ref = {m["ref"]: m for m in apps}

        async def member_confirms(relationship: dict[str, Any]) -> None:
            await sessions.ok(
                "POST",
                f"/relationships/{relationship['id']}/agreement/confirmations",
                await sessions.participant(by_ref[relationship["mentee_ref"]]),
                json={"revision": 1},
            )

        await member_confirms(agreed[0])
        early = await sessions.call("POST", f"/circles/{circle}/sessions", lead_token, json=meeting)
        assert early.status_code == 409, early.text
        assert agreed[1]["mentee_ref"] in early.json()["detail"]
        before = await sessions.ok("GET", "/relationships/me", lead_token)
        assert all(not r["sessions"] for r in before if r["circle_id"] == circle)
        await member_confirms(agreed[1])
        held = await sessions.ok("POST", f"/circles/{circle}/sessions", lead_token, json=meeting)
        [group] = {r["sessions"][0]["group_id"] for r in held}
        assert group and all(len(r["sessions"]) == 1 for r in held)
        for relationship in held:
            member = by_ref[relationship["mentee_ref"]]
            confirmed_seat = await sessions.ok(
                "POST",
                f"/relationships/{relationship['id']}/sessions/"
                f"{relationship['sessions'][0]['id']}/confirmation",
                await sessions.participant(member),
            )
            assert confirmed_seat["sessions"][0]["status"] == "scheduled"

        # Integrators see the circle on each relationship and the meeting on each seat.
        ours = {r["id"] for r in held}

        async def published_facts() -> list[tuple[str, dict[str, Any]]]:
            facts = [
                (kind, body)
                for kind, body in await sessions.events()
                if body.get("relationship_id") in ours
                and kind in ("relationship-started", "session-scheduled")
            ]
            return facts if len(facts) == 4 else []

        facts = await eventually(published_facts)
        assert {b["circle_id"] for k, b in facts if k == "relationship-started"} == {circle}
        assert {b["group_id"] for k, b in facts if k == "session-scheduled"} == {group}
