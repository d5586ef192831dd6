"""Hostile events on the real broker and store: generated malformed, type-confused,
oversized and header-mangled events, each signed by the rightful publisher over exactly
what is sent (so they get past the signature to the checks behind it). None is accepted,
each is dead-lettered, and the consumer goes on to handle the next valid event.

TELEMACHUS_FUZZ_EXAMPLES sets how many are generated (CI: 60; a longer run: 2000).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from telemachus.shared.contracts.identity import ProgramPublishedV1
from telemachus.shared.contracts.topics import dead_letter_topic, event_topic
from telemachus.shared.contracts.vocabulary import InstitutionKind
from telemachus.shared.runtime import dead_letter
from telemachus.shared.runtime.broker import ensure_topics
from telemachus.shared.security.keys import development_trust
from telemachus.shared.security.signing import EventSigner
from telemachus.shared.testing.backends import Backend
from telemachus.shared.testing.kafka import eventually, headers_of, produce, read_topic
from telemachus.shared.testing.samples import envelope, program_published
from tests.helpers.counting_service import CountingService, settings_for

EXAMPLES = int(os.environ.get("TELEMACHUS_FUZZ_EXAMPLES", "60"))
CE_HEADERS = ["ce_id", "ce_source", "ce_type", "ce_time", "ce_specversion", "ce_subject"]
REFUSALS = {"invalid-envelope", "invalid-data", "oversized", "bad-signature", "source-mismatch"}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


def hostile(valid: dict[str, Any]) -> list[tuple[bytes, dict[str, str]]]:
    """(body, header changes) pairs, each one a way of not being a ProgramPublished."""
    fields = sorted(valid)
    drawn: list[tuple[bytes, dict[str, str]]] = []
    kinds: st.SearchStrategy[tuple[bytes, dict[str, str]]] = st.one_of(
        st.binary(max_size=300).map(lambda b: (b, {})),
        json_values.map(lambda v: (json.dumps(v).encode(), {})),
        st.tuples(st.sampled_from(fields), json_values).map(
            lambda fv: (json.dumps({**valid, fv[0]: fv[1]}).encode(), {})
        ),
        st.sampled_from(fields).map(
            lambda f: (json.dumps({k: v for k, v in valid.items() if k != f}).encode(), {})
        ),
        st.tuples(st.sampled_from(CE_HEADERS), st.text(max_size=300)).map(
            lambda hv: (json.dumps(valid).encode(), {hv[0]: hv[1]})
        ),
    )

    @settings(
        max_examples=EXAMPLES,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(kinds)
    def collect(item: tuple[bytes, dict[str, str]]) -> None:
        drawn.append(item)

    collect()

    def accepted(body: bytes, changes: dict[str, str]) -> bool:
        if changes:  # a mangled header that happens to equal a valid value changes nothing
            return False
        try:
            ProgramPublishedV1.model_validate_json(body)
            return True
        except ValidationError:
            return False

    unique = {(b, tuple(sorted(c.items()))): (b, c) for b, c in drawn}
    kept = [(b, c) for b, c in unique.values() if not accepted(b, c)]
    oversized = json.dumps({**valid, "title": "x" * 300_000}).encode()
    return [*kept, (oversized, {})]


async def test_generated_hostile_events_are_all_refused_and_the_consumer_goes_on(
    backend: Backend, tmp_path: Path
) -> None:
    publisher = f"fuzz-{secrets.token_hex(3)}"
    registry, keys = development_trust([(publisher, "Publisher", InstitutionKind.UNIVERSITY)])
    (tmp_path / "registry.json").write_text(registry.model_dump_json())
    signing_key = keys[publisher].signing_key
    assert signing_key is not None
    signer = EventSigner(signing_key)
    topic = event_topic(publisher, "identity")
    await ensure_topics(backend.kafka_bootstrap_servers, [topic], 1)
    service = CountingService(
        settings_for(
            backend,
            f"target-{secrets.token_hex(3)}",
            trust_registry_file=str(tmp_path / "registry.json"),
        ),
        topic,
    )
    valid_event = program_published(f"{publisher}:valid-after")
    cases = hostile(json.loads(program_published(f"{publisher}:fuzzed").model_dump_json()))
    sent_ids = []
    for body, changes in cases:
        headers = envelope(valid_event, topic)
        # Signed over the body as sent; a mangled header after signing is what an
        # attacker on the wire could do.
        headers = {**signer.sign(headers, body), **changes}
        sent_ids.append(headers["ce_id"])
        await produce(backend.kafka_bootstrap_servers, topic, body, headers, key=b"k")
    await produce(
        backend.kafka_bootstrap_servers,
        topic,
        valid_event.model_dump_json().encode(),
        envelope(valid_event, topic, signer=signer),
        key=b"k",
    )
    await service.runtime.start()
    try:
        await eventually(lambda: service.count(valid_event.program_id), within=120)
        dlq = dead_letter_topic(service.settings.institution, "pairing")

        async def all_refused() -> list[dict[str, str]]:
            letters = [
                headers_of(r) for r in await read_topic(backend.kafka_bootstrap_servers, dlq)
            ]
            return letters if len(letters) >= len(cases) else []

        letters = await eventually(all_refused, within=120)
        assert len(letters) == len(cases)
        assert {h[dead_letter.REASON] for h in letters} <= REFUSALS
        assert "oversized" in {h[dead_letter.REASON] for h in letters}
        # Nothing hostile reached the handler; the valid event after them did.
        assert service.attempts == [valid_event.program_id]
        print(
            f"\nevent fuzz: {len(cases)} hostile events, all refused: "
            f"{sorted({h[dead_letter.REASON] for h in letters})}"
        )
    finally:
        await service.runtime.stop()
