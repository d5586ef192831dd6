"""The integrator guide's example, run as an integrator runs it, against the local broker:
another Kafka client (confluent-kafka), no Telemachus code, signatures and schemas checked."""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from pathlib import Path

from telemachus.shared.contracts.topics import event_topic
from telemachus.shared.contracts.vocabulary import InstitutionKind
from telemachus.shared.runtime.broker import ensure_topics
from telemachus.shared.security.keys import development_trust
from telemachus.shared.security.signing import EventSigner
from telemachus.shared.testing.backends import Backend
from telemachus.shared.testing.kafka import produce, produce_event
from telemachus.shared.testing.samples import envelope, program_published

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "docs" / "integrators" / "read_with_confluent_kafka.py"


async def test_the_confluent_kafka_example_verifies_signatures_and_schemas(
    backend: Backend, tmp_path: Path
) -> None:
    institution = f"lab-{secrets.token_hex(3)}"
    registry, keys = development_trust([(institution, "Lab", InstitutionKind.RESEARCH_CENTRE)])
    registry_file = tmp_path / "registry.json"
    registry_file.write_text(registry.model_dump_json())
    signing_key = keys[institution].signing_key
    assert signing_key is not None
    signer = EventSigner(signing_key)
    topic = event_topic(institution, "identity")
    bootstrap = backend.kafka_bootstrap_servers
    await ensure_topics(bootstrap, [topic], 1)

    good = program_published(f"{institution}:program-1")
    good_headers = envelope(good, topic, signer=signer)
    await produce_event(bootstrap, topic, good, good_headers)
    unsigned = program_published(f"{institution}:program-2")
    await produce_event(bootstrap, topic, unsigned, envelope(unsigned, topic))
    tampered = program_published(f"{institution}:program-3")
    headers = envelope(tampered, topic, signer=signer)
    altered = tampered.model_copy(update={"title": "Not what was signed"})
    await produce_event(bootstrap, topic, altered, headers)
    invalid = json.dumps({**json.loads(good.model_dump_json()), "topics": "apps"}).encode()
    await produce(bootstrap, topic, invalid, signer.sign(envelope(good, topic), invalid))

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLE),
        bootstrap,
        topic,
        str(registry_file),
        str(ROOT / "docs" / "events"),
        "--max",
        "4",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert lines[0] == f"verified {good.event_type} {good_headers['ce_id']}"
    assert lines[1] == "refused unsigned"
    assert lines[2].startswith("refused bad signature: the event differs")
    assert lines[3].startswith("refused invalid: ValidationError")
    assert len(lines) == 4
