"""Issue 16: a coordinator brings a cohort of 200 into a program. No one is enrolled (nor
announced to any institution) before their own consent; who declines or lets the
invitation expire leaves nothing behind. On the session's federation: the people are the
university's, the program the hospital's; everyone signs in at the university's IdP."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from telemachus.cli.dev_idp import COORDINATORS_GROUP
from telemachus.cli.federation import Federation
from telemachus.identity.domain import commands
from telemachus.shared.contracts.topics import event_topic
from telemachus.shared.testing.kafka import eventually, headers_of, read_topic
from tests.helpers.sites import CONSENT, Site, bearer, known_at, publish_program

COHORT = 200
ENROLLED = "org.telemachus.identity.participant-enrolled.v2"


async def enrolment_events(federation: Federation, site: Site, refs: set[str]) -> list[str]:
    records = await read_topic(federation.kafka_bootstrap_servers, event_topic(site.id, "identity"))
    return [
        ref
        for r in records
        if headers_of(r)["ce_type"] == ENROLLED
        and (ref := json.loads(r.value)["participant_ref"]) in refs
    ]


async def in_batches(calls: list[Any], size: int = 10) -> list[Any]:
    results = []
    for start in range(0, len(calls), size):
        results += await asyncio.gather(*calls[start : start + size])
    return results


async def test_a_cohort_is_enrolled_only_by_each_persons_own_consent(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    hospital, university, _ = sites
    program = await publish_program(hospital, [university.id])
    await known_at(university, program["id"])
    coordinator = bearer(
        await federation.sign_in(university.id, f"coord@{university.id}", COORDINATORS_GROUP)
    )
    people = await in_batches([university.register() for _ in range(COHORT)], size=20)
    refs = {p["ref"] for p in people}

    invited = await university.call(
        "POST",
        f"/programs/{program['id']}/invitations",
        coordinator,
        json={
            "participant_ids": [p["id"] for p in people[:150]],
            "work_emails": [p["work_email"].upper() for p in people[150:]] + ["nobody@x.example"],
        },
    )
    assert invited.status_code == 200, invited.text
    summary = invited.json()
    assert len(summary["invited"]) == COHORT and summary["unknown"] == ["nobody@x.example"]
    again = await university.call(
        "POST",
        f"/programs/{program['id']}/invitations",
        coordinator,
        json={"participant_ids": [people[0]["id"]]},
    )
    assert again.json()["already_invited"] == [people[0]["id"]]  # inviting twice: nothing new

    # Invited is not enrolled: no consent record, no event on the log, nothing at the lead.
    roster = await university.call(
        "GET", f"/participants?program_id={program['id']}&limit=1000", coordinator
    )
    assert roster.status_code == 200 and roster.json() == []
    assert await enrolment_events(federation, university, refs) == []

    tokens = await in_batches(
        [federation.sign_in(university.id, p["subject"]) for p in people], size=10
    )
    token_of = {p["id"]: t for p, t in zip(people, tokens, strict=True)}
    accepting, declining, silent = people[:150], people[150:175], people[175:]

    async def invitation_of(person: dict[str, Any]) -> dict[str, Any]:
        mine = await university.call(
            "GET", "/participants/me/invitations", bearer(token_of[person["id"]])
        )
        assert mine.status_code == 200, mine.text
        [invitation] = mine.json()
        return dict(invitation)

    first = await invitation_of(accepting[0])
    # Before deciding, the person sees what would be shared, and with whom.
    assert first["program_id"] == program["id"] and first["lead_institution"] == hospital.id
    assert "career_stage" in first["needed_for_pairing"] and hospital.id in first["shared_with"]
    # Someone else's invitation cannot be answered.
    stolen = await university.call(
        "POST",
        f"/invitations/{first['id']}/accept",
        bearer(token_of[declining[0]["id"]]),
        json={"consented_fields": CONSENT},
    )
    assert stolen.status_code == 404
    bad = await university.call(
        "POST",
        f"/invitations/{first['id']}/accept",
        bearer(token_of[accepting[0]["id"]]),
        json={"consented_fields": ["salary"]},
    )
    assert bad.status_code == 422 and "consented_fields" in bad.text

    async def accept(person: dict[str, Any]) -> int:
        invitation = await invitation_of(person)
        answer = await university.call(
            "POST",
            f"/invitations/{invitation['id']}/accept",
            bearer(token_of[person["id"]]),
            json={"consented_fields": CONSENT},
        )
        return answer.status_code

    async def decline(person: dict[str, Any]) -> int:
        invitation = await invitation_of(person)
        answer = await university.call(
            "POST", f"/invitations/{invitation['id']}/decline", bearer(token_of[person["id"]])
        )
        return answer.status_code

    assert set(await in_batches([accept(p) for p in accepting])) == {201}
    assert set(await in_batches([decline(p) for p in declining])) == {204}
    # The silent ones' invitations expire (the purge as it will run three weeks on).
    bus = federation.services[(university.id, "identity")].app.state.bus
    later = datetime.now(UTC) + timedelta(days=22)
    # (Other tests' invitations on this shared federation expire too.)
    assert await bus.handle(commands.PurgeExpiredInvitations(as_of=later)) >= len(silent)

    accepted_refs = {p["ref"] for p in accepting}

    async def all_announced() -> list[str]:
        found = await enrolment_events(federation, university, refs)
        return found if len(found) >= len(accepting) else []

    announced = await eventually(all_announced, within=60)
    assert sorted(announced) == sorted(accepted_refs)  # each once, nobody else
    roster = await university.call(
        "GET", f"/participants?program_id={program['id']}&limit=1000", coordinator
    )
    assert {p["ref"] for p in roster.json()} == accepted_refs
    # Who declined or stayed silent has no invitation left, and nothing to accept.
    pending = await university.call(
        "GET", f"/programs/{program['id']}/invitations?limit=1000", coordinator
    )
    assert pending.json() == []
    for person in (declining[0], silent[0]):
        mine = await university.call(
            "GET", "/participants/me/invitations", bearer(token_of[person["id"]])
        )
        assert mine.json() == []
    identity_db = federation.runtime(university.id, "identity").db
    left = await identity_db["invitations"].count_documents(
        {"participant_id": {"$in": [p["id"] for p in declining + silent]}}
    )
    assert left == 0


async def test_inviting_needs_a_coordinator_and_someone_to_invite(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    hospital, university, _ = sites
    program = await publish_program(hospital, [university.id])
    await known_at(university, program["id"])
    person = await university.register()
    as_person = await university.person(person["subject"])
    path = f"/programs/{program['id']}/invitations"
    refused = await university.call("POST", path, as_person, json={"participant_ids": ["x"]})
    assert refused.status_code == 403
    empty = await university.call("POST", path, json={})
    assert empty.status_code == 422 and "participant_ids or work_emails" in empty.text
    unknown = await university.call(
        "POST", "/programs/nope/invitations", json={"participant_ids": ["x"]}
    )
    assert unknown.status_code == 422 and "program_id" in unknown.text
