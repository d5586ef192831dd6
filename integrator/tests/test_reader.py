"""The integrator library reads what Telemachus's services sign (their signer makes the
events here), from Kafka and from webhooks, and refuses everything else with a reason a
program can act on. It runs with nothing of Telemachus installed."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from telemachus.shared.contracts.envelope import CloudEventAttributes
from telemachus.shared.contracts.vocabulary import InstitutionKind
from telemachus.shared.security.keys import development_trust
from telemachus.shared.security.signing import EventSigner
from telemachus.shared.testing.samples import envelope, program_published
from telemachus_integrator import Freshness, Reader, Refused, Schemas, TrustRegistry

ROOT = Path(__file__).resolve().parents[2]
LAB, OTHER = "lab-north", "lab-south"
TOPIC = f"telemachus.{LAB}.identity"


@pytest.fixture(scope="module")
def federation() -> tuple[dict[str, Any], dict[str, EventSigner]]:
    registry, keys = development_trust(
        [
            (LAB, "Lab North", InstitutionKind.RESEARCH_CENTRE),
            (OTHER, "Lab South", InstitutionKind.RESEARCH_CENTRE),
        ]
    )
    signers = {}
    for institution, private in keys.items():
        assert private.signing_key is not None
        signers[institution] = EventSigner(private.signing_key)
    return json.loads(registry.model_dump_json()), signers


def record(signer: EventSigner | None, **change: Any) -> tuple[dict[str, str], bytes]:
    event = program_published(f"{LAB}:program-1").model_copy(update={"sequence": 3, **change})
    return envelope(event, TOPIC, signer=signer), event.model_dump_json().encode()


def reader_of(registry: dict[str, Any]) -> Reader:
    return Reader(TrustRegistry(registry))


def refusal(read: Any, *args: Any) -> str:
    with pytest.raises(Refused) as refused:
        read(*args)
    return refused.value.reason


def test_a_genuine_kafka_record_becomes_a_typed_validated_event(federation: Any) -> None:
    registry, signers = federation
    headers, data = record(signers[LAB])
    as_bytes = [(name, value.encode()) for name, value in headers.items()]  # as clients give
    event = reader_of(registry).from_kafka(TOPIC, as_bytes, data)
    assert (event.type, event.id, event.institution, event.service) == (
        "org.telemachus.identity.program-published.v1",
        headers["ce_id"],
        LAB,
        "identity",
    )
    assert event.subject == f"{LAB}:program-1" and event.version == 1
    assert event.time.tzinfo is not None and event.data["title"]
    assert (event.thing, event.sequence) == (f"{LAB}:program-1", 3)


def test_a_webhook_request_is_read_as_the_same_event(federation: Any) -> None:
    registry, signers = federation
    headers, data = record(signers[LAB])
    # The HTTP binding's names, in whatever case a server gives them.
    http = {
        "Ce-" + k.removeprefix("ce_").title(): v for k, v in headers.items() if k != "content-type"
    }
    http["Content-Type"] = headers["content-type"]
    reader = reader_of(registry)
    assert reader.from_http(http, data) == reader.from_kafka(TOPIC, headers, data)


def test_what_is_not_genuine_and_valid_is_refused_with_its_reason(federation: Any) -> None:
    registry, signers = federation
    reader = reader_of(registry)
    unsigned = record(None)
    assert refusal(reader.from_kafka, TOPIC, *unsigned) == "unsigned"
    headers, data = record(signers[LAB])
    tampered = data.replace(b'"planned_sessions":6', b'"planned_sessions":9')
    assert (
        tampered != data and refusal(reader.from_kafka, TOPIC, headers, tampered) == "bad-signature"
    )
    # Signed by another member of the federation, as if it were the lab's.
    forged, forged_data = record(signers[OTHER])
    assert refusal(reader.from_kafka, TOPIC, forged, forged_data) == "bad-signature"
    # The lab's genuine event replayed on another institution's topic.
    assert (
        refusal(reader.from_kafka, f"telemachus.{OTHER}.identity", headers, data) == "wrong-source"
    )
    missing = {k: v for k, v in headers.items() if k != "ce_time"}
    assert refusal(reader.from_kafka, TOPIC, missing, data) == "malformed"
    invalid = json.dumps({**json.loads(data), "topics": "apps"}).encode()
    # Signed as it is: valid in signature, invalid against its schema.
    signed_invalid = {
        **headers,
        "ce_dssematerial": signers[LAB].material(
            CloudEventAttributes.from_headers(headers), invalid
        ),
    }
    assert refusal(reader.from_kafka, TOPIC, signed_invalid, invalid) == "invalid"


def test_a_key_past_its_end_no_longer_verifies(federation: Any) -> None:
    registry, signers = federation
    expired = json.loads(json.dumps(registry))
    for institution in expired["institutions"]:
        for key in institution.get("signing_keys", []):
            key["not_after"] = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    headers, data = record(signers[LAB])
    assert refusal(reader_of(expired).from_kafka, TOPIC, headers, data) == "bad-signature"


def test_freshness_drops_repeats_and_older_facts(federation: Any) -> None:
    registry, signers = federation
    reader, fresh = reader_of(registry), Freshness()
    newer = reader.from_kafka(TOPIC, *record(signers[LAB], sequence=5))
    older = reader.from_kafka(TOPIC, *record(signers[LAB], sequence=4))
    assert fresh.admit(newer) and not fresh.admit(newer)  # the same event again
    assert not fresh.admit(older)  # replayed after a later one was applied
    assert fresh.admit(reader.from_kafka(TOPIC, *record(signers[LAB], sequence=6)))


def test_the_bundled_schemas_are_the_published_ones() -> None:
    published = {
        p.name.removesuffix(".schema.json"): json.loads(p.read_text())
        for p in (ROOT / "docs" / "events").glob("*.schema.json")
    }
    bundled = Schemas()
    assert bundled.types() == sorted(published), "run `make schemas`"
    assert all(bundled.schema(name) == schema for name, schema in published.items())


def test_it_installs_and_runs_with_nothing_of_telemachus() -> None:
    pyproject = (ROOT / "integrator" / "pyproject.toml").read_text()
    assert "telemachus-" not in pyproject.split("dependencies", 1)[1].split("]", 1)[0]
    # A fresh interpreter in which importing any other Telemachus package fails.
    guard = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name == 'telemachus' or name.startswith('telemachus.'):\n"
        "            raise ImportError('no Telemachus here: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from telemachus_integrator import Reader, Schemas, TrustRegistry\n"
        "print(len(Schemas().types()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", guard], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and int(done.stdout) > 30, done.stderr
