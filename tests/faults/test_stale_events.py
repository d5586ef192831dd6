"""Issue 15, fault 5: an older `PairingProposed` published again (a new event id, correctly
signed by the lead) took confirmed pairings back to `proposed` in feedback. A decided pairing
stays decided. On the real broker and store."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from telemachus.cli.federation import Federation
from telemachus.shared.contracts.pairing import PairingConfirmedV1, PairingProposedV1
from telemachus.shared.contracts.topics import event_topic
from telemachus.shared.security.signing import MATERIAL_HEADER
from telemachus.shared.testing.kafka import (
    eventually,
    headers_of,
    produce,
    produce_event,
    read_topic,
)
from tests.helpers.sites import Site, enrol, known_at, publish_program, signed


async def test_a_stale_proposal_published_again_does_not_undo_a_confirmed_pairing(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    hospital, university, _ = sites
    program = await publish_program(hospital, [university.id])
    await known_at(university, program["id"])
    topic = event_topic(hospital.id, "pairing")
    now = datetime.now(UTC)
    common: dict[str, Any] = {
        "pairing_id": f"pairing_{secrets.token_hex(5)}",
        "program_id": program["id"],
        "mode": "assigned",
        "mentor_ref": f"{university.id}:{secrets.token_urlsafe(9)}",
        "mentee_ref": f"{hospital.id}:{secrets.token_urlsafe(9)}",
        "topic": "e-medicine",
    }
    proposed = PairingProposedV1(
        **common, round_id="round_1", score=10, respond_by=now + timedelta(days=7)
    )
    confirmed = PairingConfirmedV1(
        **common, relationship_weeks=12, planned_sessions=3, confirmed_at=now
    )
    for event in (proposed, confirmed):
        await produce_event(
            federation.kafka_bootstrap_servers, topic, event, signed(federation, event, topic)
        )
    pairings = federation.runtime(hospital.id, "feedback").db["pairings"]

    async def outcome() -> str:
        found = await pairings.find_one({"_id": common["pairing_id"]})
        return str(found["outcome"]) if found else ""

    await eventually(lambda: _when(outcome(), "confirmed"))
    # The same proposal again, as a new event: handled (it reaches the inbox), changes nothing.
    again = signed(federation, proposed, topic)
    await produce_event(federation.kafka_bootstrap_servers, topic, proposed, again)
    inbox = federation.runtime(hospital.id, "feedback").db["inbox"]
    handled = f"{again['ce_source']}#{again['ce_id']}"
    await eventually(lambda: inbox.find_one({"_id": handled}))
    assert await outcome() == "confirmed"


async def _when(value: Any, expected: object) -> bool:
    return bool(await value == expected)


async def republished(federation: Federation, site: Site, event_type: str) -> str:
    """The institution publishes its first `event_type` record again under a new id,
    correctly signed: an older fact arriving after newer ones. Returns the new inbox id."""
    records = await read_topic(federation.kafka_bootstrap_servers, event_topic(site.id, "identity"))
    record = next(r for r in records if headers_of(r)["ce_type"] == event_type)
    headers = {k: v for k, v in headers_of(record).items() if k != MATERIAL_HEADER}
    headers["ce_id"] = str(uuid.uuid4())
    again = federation.signer(site.id).sign(headers, record.value)
    await produce(
        federation.kafka_bootstrap_servers,
        event_topic(site.id, "identity"),
        record.value,
        again,
        key=record.key,
    )
    return f"{again['ce_source']}#{again['ce_id']}"


async def test_an_older_enrolment_or_profile_published_again_changes_no_read_model(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    """A read model ignores an event older than what it holds for that aggregate: an old
    profile does not overwrite a newer one, an old enrolment does not bring a withdrawn
    person back into the pool (each read model checks the sequence the publisher gave)."""
    hospital, university, _ = sites
    program = await publish_program(hospital, [university.id])
    await known_at(university, program["id"])
    person = await university.register(career_stage=2)
    await enrol(university, person, program)
    pairing = federation.runtime(hospital.id, "pairing")
    candidates = pairing.db["candidates"]
    key = {"program_id": program["id"], "participant_ref": person["ref"]}

    async def career_stage() -> int:
        found = await candidates.find_one(key)
        return int(found["career_stage"] or 0) if found else 0

    assert await eventually(career_stage) == 2
    changed = await university.call(
        "PATCH", f"/participants/{person['id']}", json={"career_stage": 4}
    )
    assert changed.status_code == 200, changed.text
    await eventually(lambda: _when(career_stage(), 4))

    handled = await republished(
        federation, university, "org.telemachus.identity.participant-enrolled.v2"
    )
    await eventually(lambda: pairing.db["inbox"].find_one({"_id": handled}))
    assert await career_stage() == 4

    withdrawn = await university.withdraw(person, program["id"])
    assert withdrawn.status_code < 300, withdrawn.text
    await eventually(lambda: _absent(candidates.find_one(key)))
    handled = await republished(
        federation, university, "org.telemachus.identity.profile-updated.v2"
    )
    await eventually(lambda: pairing.db["inbox"].find_one({"_id": handled}))
    assert await candidates.find_one(key) is None


async def _absent(value: Any) -> bool:
    return await value is None
