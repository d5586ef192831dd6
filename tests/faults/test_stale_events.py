"""Issue 15, fault 5: an older `PairingProposed` published again (a new event id, correctly
signed by the lead) took confirmed pairings back to `proposed` in feedback. A decided pairing
stays decided. On the real broker and store."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from telemachus.cli.federation import Federation
from telemachus.shared.contracts.pairing import PairingConfirmedV1, PairingProposedV1
from telemachus.shared.contracts.topics import event_topic
from telemachus.shared.testing.kafka import eventually, produce_event
from tests.helpers.sites import Site, known_at, publish_program, signed


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

    assert await eventually(lambda: _when(outcome(), "confirmed")) == "confirmed"
    # The same proposal again, as a new event: handled (it reaches the inbox), changes nothing.
    again = signed(federation, proposed, topic)
    await produce_event(federation.kafka_bootstrap_servers, topic, proposed, again)
    inbox = federation.runtime(hospital.id, "feedback").db["inbox"]
    handled = f"{again['ce_source']}#{again['ce_id']}"
    await eventually(lambda: inbox.find_one({"_id": handled}))
    assert await outcome() == "confirmed"


async def _when(value: Any, expected: str) -> str:
    got = await value
    return str(got) if got == expected else ""
