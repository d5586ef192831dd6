"""Issue 16: HR systems and IdPs keep the roster by SCIM 2.0 (RFC 7643/7644). An
independent conformance checker (scim2-tester) runs its whole suite against identity;
then what HR does in practice: the same push twice, a deactivation that withdraws the
person from their programs, errors in RFC 7644's shape. On the session's federation."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from telemachus.cli.dev_idp import PROVISIONERS_GROUP
from telemachus.cli.federation import Federation
from telemachus.cli.sign_in import SignInFailed
from telemachus.shared.testing.kafka import eventually
from tests.helpers.sites import CONSENT, Site, bearer, known_at, publish_program

SCIM = "application/scim+json"
PARTICIPANT = "urn:telemachus:params:scim:schemas:extension:participant:2.0:User"


async def provisioner(federation: Federation, site: Site) -> dict[str, str]:
    token = await federation.sign_in(site.id, f"hr-{secrets.token_hex(3)}", PROVISIONERS_GROUP)
    return {"Authorization": f"Bearer {token}"}


def conformance(base_url: str, headers: dict[str, str]) -> list[Any]:
    with httpx2.Client(base_url=base_url, headers=headers, timeout=30) as http:
        client = SyncSCIMClient(http)
        return check_server(client)


async def test_scim2_tester_passes_against_identity(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    _, university, _ = sites
    headers = await provisioner(federation, university)
    results = await asyncio.to_thread(conformance, f"{university.url}/scim/v2", headers)
    failed = [
        f"{r.title}: {r.reason}"
        for r in results
        if r.status not in (Status.SUCCESS, Status.SKIPPED)
    ]
    assert not failed, "\n".join(failed)
    passed = sum(r.status == Status.SUCCESS for r in results)
    print(f"scim2-tester: {passed} checks passed, {len(results) - passed} skipped")
    assert passed >= 20


def hr_record(login: str, site: Site, **extra: Any) -> dict[str, Any]:
    return {
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            PARTICIPANT,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        ],
        "userName": login,
        "externalId": f"hr-{login}",
        "displayName": f"{login.title()} Example",
        "emails": [{"value": f"{login}@{site.id}.example", "type": "work", "primary": True}],
        "active": True,
        PARTICIPANT: {"profession": "nursing", "careerStage": "early-career"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": f"E{secrets.randbelow(10**6)}",
            "department": "Emergency",
        },
        **extra,
    }


async def test_an_hr_push_twice_changes_nothing_and_deactivation_withdraws_from_programs(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    hospital, university, _ = sites
    headers = {**await provisioner(federation, university), "Content-Type": SCIM}
    scim = f"{university.url}/scim/v2"
    login = f"n{secrets.token_hex(3)}"
    record = hr_record(login, university)
    created = await university.client.post(f"{scim}/Users", headers=headers, json=record)
    assert created.status_code == 201, created.text
    assert created.headers["content-type"].startswith(SCIM)
    user = created.json()
    assert created.headers["location"].endswith(f"/Users/{user['id']}")
    again = await university.client.post(f"{scim}/Users", headers=headers, json=record)
    assert again.status_code == 409 and again.json()["scimType"] == "uniqueness"
    assert again.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    # As IdPs look a person up before each push: userName without regard to case.
    for wanted in (f'userName eq "{login.upper()}"', f'externalId eq "hr-{login}"'):
        found = await university.client.get(
            f"{scim}/Users", headers=headers, params={"filter": wanted}
        )
        assert [u["id"] for u in found.json()["Resources"]] == [user["id"]], wanted
    unknown = await university.client.get(
        f"{scim}/Users", headers=headers, params={"filter": f'externalId eq "HR-{login}"'}
    )
    assert unknown.json()["totalResults"] == 0  # externalId is case-exact

    # The same replacement twice: the record's version moves once, not twice.
    record["displayName"] = f"{login.title()} Renamed"
    first = await university.client.put(f"{scim}/Users/{user['id']}", headers=headers, json=record)
    second = await university.client.put(f"{scim}/Users/{user['id']}", headers=headers, json=record)
    assert first.status_code == second.status_code == 200, second.text
    assert first.json()["meta"]["version"] == second.json()["meta"]["version"]

    # The person signs in, completes their profile and enrols in the hospital's program.
    program = await publish_program(hospital, [university.id])
    await known_at(university, program["id"])
    person = bearer(await federation.sign_in(university.id, login))
    completed = await university.call(
        "PATCH",
        f"/participants/{user['id']}",
        person,
        json={"topics_offered": [{"topic": "e-medicine", "proficiency": 4}]},
    )
    assert completed.status_code == 200, completed.text
    enrolled = await university.call(
        "POST",
        f"/participants/{user['id']}/enrolments",
        person,
        json={"program_id": program["id"], "consented_fields": CONSENT},
    )
    assert enrolled.status_code == 201, enrolled.text

    # HR deactivates them (as Entra ID does, by PATCH): withdrawn from the program.
    deactivated = await university.client.patch(
        f"{scim}/Users/{user['id']}",
        headers=headers,
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
    )
    assert deactivated.status_code == 200 and deactivated.json()["active"] is False

    async def withdrawn() -> list[Any]:
        return [
            body
            for _, body in await university.events(
                "org.telemachus.identity.participant-withdrawn.v1"
            )
            if body["participant_ref"] == user_ref(university, user)
        ]

    [event] = await eventually(withdrawn)
    assert event["program_id"] == program["id"] and event["erased"] is False
    refused = await university.call(
        "POST",
        f"/participants/{user['id']}/enrolments",
        person,
        json={"program_id": program["id"], "consented_fields": CONSENT},
    )
    assert refused.status_code == 409 and "deactivated" in refused.text
    # Nor does their home vouch for them as a participant at the lead any more.
    with pytest.raises(SignInFailed, match="no role"):
        await federation.sign_in(university.id, login, audience=hospital.id)


def user_ref(site: Site, user: dict[str, Any]) -> str:
    return f"{site.id}:{user['id']}"


async def test_bad_scim_requests_get_rfc7644_errors_naming_the_field(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    _, university, _ = sites
    headers = {**await provisioner(federation, university), "Content-Type": SCIM}
    scim = f"{university.url}/scim/v2"
    login = f"b{secrets.token_hex(3)}"
    cases = {
        "careerStage": hr_record(
            login, university, **{PARTICIPANT: {"profession": "nursing", "careerStage": "wizard"}}
        ),
        "emails": {**hr_record(login, university), "emails": [{"value": "not-an-address"}]},
        "userName": {k: v for k, v in hr_record(login, university).items() if k != "userName"},
    }
    for field, body in cases.items():
        answer = await university.client.post(f"{scim}/Users", headers=headers, json=body)
        assert answer.status_code == 400, (field, answer.text)
        error = answer.json()
        assert error["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert error["status"] == "400" and field in error["detail"], (field, error)
    broken = await university.client.post(f"{scim}/Users", headers=headers, content=b"{")
    assert broken.status_code == 400 and broken.json()["scimType"] == "invalidSyntax"
    # Nothing of the refused pushes was stored.
    found = await university.client.get(
        f"{scim}/Users", headers=headers, params={"filter": f'userName eq "{login}"'}
    )
    assert found.json()["totalResults"] == 0
    # Without a token, or with a coordinator's: SCIM errors too.
    anonymous = await university.client.get(f"{scim}/Users")
    assert anonymous.status_code == 401 and anonymous.json()["status"] == "401"
    coordinator = await university.client.get(f"{scim}/Users", headers=university.coordinator)
    assert coordinator.status_code == 403 and "provisioner" in coordinator.json()["detail"]


async def test_a_coordinator_invites_a_cohort_hr_keeps_as_a_group(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    hospital, university, _ = sites
    headers = {**await provisioner(federation, university), "Content-Type": SCIM}
    scim = f"{university.url}/scim/v2"
    members = []
    for _ in range(3):
        created = await university.client.post(
            f"{scim}/Users", headers=headers, json=hr_record(f"g{secrets.token_hex(3)}", university)
        )
        members.append(created.json()["id"])
    group = await university.client.post(
        f"{scim}/Groups",
        headers=headers,
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": f"Nursing graduates {secrets.token_hex(3)}",
            "members": [{"value": m} for m in members[:2]],
        },
    )
    assert group.status_code == 201, group.text
    # HR adds the third member later, as IdPs do, by PATCH.
    added = await university.client.patch(
        f"{scim}/Groups/{group.json()['id']}",
        headers=headers,
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": members[2]}]}],
        },
    )
    assert added.status_code == 200 and len(added.json()["members"]) == 3, added.text
    program = await publish_program(hospital, [university.id])
    await known_at(university, program["id"])
    invited = await university.call(
        "POST",
        f"/programs/{program['id']}/invitations",
        json={"cohort_id": group.json()["id"]},
    )
    assert invited.status_code == 200, invited.text
    assert sorted(invited.json()["invited"]) == sorted(members)
