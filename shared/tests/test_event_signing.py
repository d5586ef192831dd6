"""Signed events (CloudEvents verifiability, DSSE): each refusal and its reason."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from telemachus.shared.contracts.envelope import CloudEventAttributes
from telemachus.shared.contracts.vocabulary import InstitutionKind
from telemachus.shared.security.keys import development_trust, new_ed25519
from telemachus.shared.security.registry import TrustRegistry
from telemachus.shared.security.signing import (
    MATERIAL_HEADER,
    PAYLOAD_TYPE,
    EventSigner,
    EventVerifier,
    SignatureRefused,
    pae,
    verification_material,
)

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
DATA = b'{"program_id": "hosp:prog0001"}'


Federation = tuple[TrustRegistry, dict[str, EventSigner]]


@pytest.fixture
def federation() -> Federation:
    registry, keys = development_trust(
        [
            ("hosp", "Hospital", InstitutionKind.HOSPITAL),
            ("uni", "University", InstitutionKind.UNIVERSITY),
        ]
    )
    signers = {i: EventSigner(k.signing_key) for i, k in keys.items() if k.signing_key}
    return registry, signers


def attributes(**changes: object) -> CloudEventAttributes:
    base = CloudEventAttributes(
        id="e1", source="/telemachus/hosp/identity", type="org.x.y.v1", time=NOW, subject="s"
    )
    return base.model_copy(update=changes)


def refusal(
    verifier: EventVerifier, material: str | None, origin: str = "hosp", **kw: object
) -> str:
    with pytest.raises(SignatureRefused) as refused:
        verifier.verify(attributes(**kw), material, DATA, origin)
    return refused.value.reason


def test_a_signed_event_verifies_and_any_change_is_refused(federation: Federation) -> None:
    registry, signers = federation
    verifier = EventVerifier(registry, clock=lambda: NOW)
    material = signers["hosp"].material(attributes(), DATA)
    verifier.verify(attributes(), material, DATA, "hosp")
    assert refusal(verifier, material, subject="other") == "bad-signature"
    assert refusal(verifier, material, time=NOW + timedelta(seconds=1)) == "bad-signature"
    with pytest.raises(SignatureRefused, match="altered"):
        verifier.verify(attributes(), material, DATA + b" ", "hosp")
    # the same instant in another zone is the same event (time is normalised to UTC)
    verifier.verify(
        attributes(time=NOW.astimezone(datetime.now().astimezone().tzinfo)), material, DATA, "hosp"
    )


def test_each_refusal_names_its_reason(federation: Federation) -> None:
    registry, signers = federation
    verifier = EventVerifier(registry, clock=lambda: NOW)
    assert refusal(verifier, None) == "unsigned"
    assert refusal(verifier, "") == "unsigned"
    assert refusal(verifier, "not base64!") == "bad-signature"
    assert refusal(verifier, base64.b64encode(b"[]").decode()) == "bad-signature"
    # the university's key, on the hospital's topic
    assert refusal(verifier, signers["uni"].material(attributes(), DATA)) == "wrong-topic-prefix"
    assert refusal(verifier, signers["hosp"].material(attributes(), DATA), origin="lab") == (
        "unknown-institution"
    )
    stranger = EventSigner(new_ed25519("somebody-else")[0])
    assert refusal(verifier, stranger.material(attributes(), DATA)) == "unknown-key"
    # a signature by the right kid that does not verify
    forged_key = EventSigner(new_ed25519(signers["hosp"].key.kid)[0])
    assert refusal(verifier, forged_key.material(attributes(), DATA)) == "bad-signature"
    # another payload type signed by the right key is not ours
    envelope = json.loads(base64.b64decode(signers["hosp"].material(attributes(), DATA)))
    envelope["payloadType"] = "application/vnd.in-toto+json"
    assert refusal(verifier, base64.b64encode(json.dumps(envelope).encode()).decode()) == (
        "bad-signature"
    )


def test_rotation_old_and_new_key_overlap_then_the_old_one_is_refused(
    federation: Federation,
) -> None:
    registry, signers = federation
    old = signers["hosp"]
    new_private, new_public = new_ed25519("hosp-events-2027")
    overlap_ends = NOW + timedelta(days=7)
    hospital = registry.get("hosp")
    assert hospital is not None
    rotated = hospital.model_copy(
        update={
            "signing_keys": [
                hospital.signing_keys[0].model_copy(update={"not_after": overlap_ends}),
                new_public.model_copy(update={"not_before": NOW}),
            ]
        }
    )
    registry = TrustRegistry(
        institutions=[rotated if i.id == "hosp" else i for i in registry.institutions]
    )
    during = EventVerifier(registry, clock=lambda: NOW + timedelta(days=1))
    after = EventVerifier(registry, clock=lambda: overlap_ends)
    for signer in (old, EventSigner(new_private)):
        during.verify(attributes(), signer.material(attributes(), DATA), DATA, "hosp")
    after.verify(attributes(), EventSigner(new_private).material(attributes(), DATA), DATA, "hosp")
    assert refusal(after, old.material(attributes(), DATA)) == "expired-key"


def test_the_material_is_the_extensions_digest_and_pae_binds_the_type() -> None:
    # PAE from the DSSE protocol's own example
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert len(verification_material(attributes(), DATA)) == 32
    assert PAYLOAD_TYPE == "https://cloudevents.io/verifiability/dsse/v0.1"
    assert MATERIAL_HEADER == "ce_dssematerial"
