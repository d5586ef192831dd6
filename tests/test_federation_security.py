"""Federation security on the real broker and store: forged, foreign-authority, replayed and
malformed events go to the dead-letter topic with their reason while valid traffic flows,
and an event key rotates with an overlap."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from telemachus.cli.federation import Federation
from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.identity import ParticipantEnrolledV1, SharedProfileV1
from telemachus.shared.contracts.pairing import PairingConfirmedV1
from telemachus.shared.contracts.sessions import RelationshipStartedV1
from telemachus.shared.contracts.topics import ServiceName, dead_letter_topic, event_topic
from telemachus.shared.contracts.vocabulary import InstitutionKind
from telemachus.shared.runtime import dead_letter
from telemachus.shared.runtime.broker import ensure_topics
from telemachus.shared.security.keys import development_trust, new_ed25519
from telemachus.shared.security.registry import TrustRegistry
from telemachus.shared.security.signing import EventSigner
from telemachus.shared.testing.backends import Backend
from telemachus.shared.testing.kafka import (
    eventually,
    headers_of,
    produce,
    produce_event,
    read_topic,
)
from telemachus.shared.testing.samples import envelope, program_published
from tests.helpers.counting_service import CountingService, settings_for
from tests.helpers.sites import Site, known_at, publish_program, signed

SERVICES_READING_IDENTITY: tuple[ServiceName, ...] = ("pairing", "sessions", "feedback")


def confirmed(program_id: str, lead: str, other: str) -> PairingConfirmedV1:
    return PairingConfirmedV1(
        pairing_id=f"pairing_{secrets.token_hex(5)}",
        program_id=program_id,
        mode="assigned",
        mentor_ref=f"{other}:mentor{secrets.token_hex(3)}",
        mentee_ref=f"{lead}:mentee{secrets.token_hex(3)}",
        topic="e-medicine",
        relationship_weeks=12,
        planned_sessions=3,
        confirmed_at=datetime.now(UTC),
    )


def letters_by_id(
    federation: Federation, institution: str, service: ServiceName
) -> Callable[[], Awaitable[dict[str, dict[str, str]]]]:
    """ce_id -> dead-letter headers, of one service's dead-letter topic."""

    async def read() -> dict[str, dict[str, str]]:
        records = await read_topic(
            federation.kafka_bootstrap_servers, dead_letter_topic(institution, service)
        )
        return {h.get("ce_id", ""): h for h in map(headers_of, records)}

    return read


async def test_forged_foreign_replayed_and_malformed_events_are_refused_and_valid_ones_flow(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    hospital, university, _ = sites
    bootstrap = federation.kafka_bootstrap_servers
    program = await publish_program(hospital, [university.id])
    await known_at(university, program["id"])
    pairing_topic = event_topic(hospital.id, "pairing")
    expected: dict[str, str] = {}  # ce_id -> the reason sessions gives

    async def send(event: IntegrationEvent, headers: dict[str, str], reason: str) -> None:
        await produce_event(bootstrap, pairing_topic, event, headers)
        expected[headers["ce_id"]] = reason

    # Unsigned.
    unsigned = confirmed(program["id"], hospital.id, university.id)
    await send(unsigned, envelope(unsigned, pairing_topic), "unsigned")
    # Signed by the university, published on the hospital's topic.
    impostor = confirmed(program["id"], hospital.id, university.id)
    await send(
        impostor,
        envelope(impostor, pairing_topic, signer=federation.signer(university.id)),
        "wrong-topic-prefix",
    )
    # Signed with a key nobody registered, under the hospital's name.
    stranger = confirmed(program["id"], hospital.id, university.id)
    await send(
        stranger,
        envelope(stranger, pairing_topic, signer=EventSigner(new_ed25519("not-registered")[0])),
        "unknown-key",
    )
    # Signed by the hospital, then altered on the way: another mentor.
    honest = confirmed(program["id"], hospital.id, university.id)
    headers = signed(federation, honest, pairing_topic)
    altered = honest.model_copy(update={"mentor_ref": f"{university.id}:someone-else"})
    await send(altered, headers, "bad-signature")
    # Properly signed by the hospital, about a program the university leads.
    foreign = confirmed(f"{university.id}:prog{secrets.token_hex(4)}", hospital.id, university.id)
    await send(foreign, signed(federation, foreign, pairing_topic), "rejected")
    # Properly signed, but the data is not a PairingConfirmed.
    malformed = confirmed(program["id"], hospital.id, university.id)
    body = json.dumps(malformed.model_dump(mode="json") | {"planned_sessions": "many"}).encode()
    malformed_headers = federation.signer(hospital.id).sign(
        envelope(malformed, pairing_topic), body
    )
    await produce(bootstrap, pairing_topic, body, malformed_headers)
    expected[malformed_headers["ce_id"]] = "invalid-data"
    # The genuine event, and then the very same record once more: a replay.
    genuine = confirmed(program["id"], hospital.id, university.id)
    genuine_headers = signed(federation, genuine, pairing_topic)
    await produce_event(bootstrap, pairing_topic, genuine, genuine_headers)

    relationships = federation.runtime(hospital.id, "sessions").db["relationships"]

    async def opened() -> bool:
        return await relationships.count_documents({"program_id": program["id"]}) == 1

    await eventually(opened, within=60)
    await produce_event(bootstrap, pairing_topic, genuine, genuine_headers)

    letters = letters_by_id(federation, hospital.id, "sessions")

    async def all_refused() -> dict[str, dict[str, str]]:
        found = await letters()
        done = set(expected) <= set(found) and genuine_headers["ce_id"] in found
        return found if done else {}

    refused = await eventually(all_refused, within=60)
    assert {i: refused[i][dead_letter.REASON] for i in expected} == expected
    assert refused[genuine_headers["ce_id"]][dead_letter.REASON] == "replayed"
    # Only the genuine event opened a relationship, once.
    opened_for = await relationships.find({"program_id": program["id"]}).to_list(None)
    assert [r["mentor_ref"] for r in opened_for] == [genuine.mentor_ref]
    assert federation.runtime(hospital.id, "sessions").dead_letters.by_reason["unsigned"] >= 1

    # Feedback applies the same rules to the same events.
    feedback_letters = await eventually(
        lambda: _with(letters_by_id(federation, hospital.id, "feedback"), set(expected)),
        within=60,
    )
    assert {i: feedback_letters[i][dead_letter.REASON] for i in expected} == expected


async def _with(
    read: Callable[[], Awaitable[dict[str, dict[str, str]]]], ids: set[str]
) -> dict[str, dict[str, str]]:
    found = await read()
    return found if ids <= set(found) else {}


async def test_only_the_home_institution_speaks_for_its_people_and_the_lead_for_its_programs(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    hospital, university, _ = sites
    bootstrap = federation.kafka_bootstrap_servers
    program = await publish_program(hospital, [university.id])
    await known_at(university, program["id"])

    # The university, signing on its own topic, enrols one of the hospital's people.
    claimed = ParticipantEnrolledV1(
        participant_ref=f"{hospital.id}:{secrets.token_hex(4)}",
        home_institution=hospital.id,
        program_id=program["id"],
        lead_institution=hospital.id,
        consented_fields=["career_stage"],
        profile=SharedProfileV1(career_stage=2),
    )
    identity_topic = event_topic(university.id, "identity")
    claim_headers = signed(federation, claimed, identity_topic)
    await produce_event(bootstrap, identity_topic, claimed, claim_headers)
    # The hospital's sessions topic carries a relationship of the university's program.
    started = RelationshipStartedV1(
        relationship_id=f"relationship_{secrets.token_hex(4)}",
        pairing_id=f"pairing_{secrets.token_hex(4)}",
        program_id=f"{university.id}:prog{secrets.token_hex(4)}",
        mode="assigned",
        mentor_ref=f"{university.id}:mentor001",
        mentee_ref=f"{hospital.id}:mentee001",
        topic="e-medicine",
        starts_on=datetime.now(UTC).date(),
        planned_end=(datetime.now(UTC) + timedelta(weeks=12)).date(),
        planned_sessions=3,
    )
    sessions_topic = event_topic(hospital.id, "sessions")
    started_headers = signed(federation, started, sessions_topic)
    await produce_event(bootstrap, sessions_topic, started, started_headers)

    for service in SERVICES_READING_IDENTITY:
        letters = await eventually(
            partial(
                _with, letters_by_id(federation, hospital.id, service), {claim_headers["ce_id"]}
            ),
            within=60,
        )
        letter = letters[claim_headers["ce_id"]]
        assert letter[dead_letter.REASON] == "rejected", service
        assert f"{university.id} may not" in letter[dead_letter.DETAIL], service
    feedback = await eventually(
        lambda: _with(
            letters_by_id(federation, hospital.id, "feedback"), {started_headers["ce_id"]}
        ),
        within=60,
    )
    assert feedback[started_headers["ce_id"]][dead_letter.REASON] == "rejected"
    assert f"{hospital.id} does not lead" in feedback[started_headers["ce_id"]][dead_letter.DETAIL]


async def test_a_rotated_key_is_accepted_during_the_overlap_and_refused_after(
    backend: Backend, tmp_path: Path
) -> None:
    """A consumer with a registry in which the source's old key ends in a few seconds."""
    source_institution = f"src-{secrets.token_hex(3)}"
    registry, keys = development_trust(
        [(source_institution, "Source", InstitutionKind.RESEARCH_CENTRE)]
    )
    old_key = keys[source_institution].signing_key
    assert old_key is not None
    new_private, new_public = new_ed25519(f"{source_institution}-events-next")
    # Long enough for the consumer to join and take the first two events before it ends,
    # on a loaded CI machine too (6 s was not: the old key's event came after its end).
    overlap_ends = datetime.now(UTC) + timedelta(seconds=20)
    record = registry.institutions[0]
    registry = TrustRegistry(
        institutions=[
            record.model_copy(
                update={
                    "signing_keys": [
                        record.signing_keys[0].model_copy(update={"not_after": overlap_ends}),
                        new_public.model_copy(
                            update={"not_before": datetime.now(UTC) - timedelta(seconds=1)}
                        ),
                    ]
                }
            )
        ]
    )
    registry_file = tmp_path / "registry.json"
    registry_file.write_text(registry.model_dump_json())
    topic = event_topic(source_institution, "identity")
    await ensure_topics(backend.kafka_bootstrap_servers, [topic], 1)
    service = CountingService(
        settings_for(
            backend, f"count-{secrets.token_hex(3)}", trust_registry_file=str(registry_file)
        ),
        topic,
    )
    old, new = EventSigner(old_key), EventSigner(new_private)
    await service.runtime.start()
    try:

        async def publish(program: str, signer: EventSigner) -> dict[str, str]:
            event = program_published(f"{source_institution}:{program}")
            headers = envelope(event, topic, signer=signer)
            await produce_event(backend.kafka_bootstrap_servers, topic, event, headers)
            return headers

        await publish("during-old", old)
        await publish("during-new", new)
        for program in ("during-old", "during-new"):
            await eventually(partial(service.count, f"{source_institution}:{program}"))
        await asyncio.sleep(max(0.0, (overlap_ends - datetime.now(UTC)).total_seconds()) + 0.5)
        late = await publish("after-old", old)
        await publish("after-new", new)
        await eventually(lambda: service.count(f"{source_institution}:after-new"))
        dlq = dead_letter_topic(service.settings.institution, "pairing")

        async def refused() -> dict[str, str]:
            letters = [
                headers_of(r) for r in await read_topic(backend.kafka_bootstrap_servers, dlq)
            ]
            return next((h for h in letters if h.get("ce_id") == late["ce_id"]), {})

        letter = await eventually(refused)
        assert letter[dead_letter.REASON] == "expired-key"
        assert await service.count(f"{source_institution}:after-old") == 0
    finally:
        await service.runtime.stop()
