"""Signed events: the CloudEvents verifiability extension (DSSE v1.0.2, Ed25519).

The publisher computes the verification material — SHA-256 over the SHA-256 digests of
the core attributes (id, source, specversion, type, datacontenttype, dataschema, subject,
time in RFC 3339 UTC) and of the data — signs it in a DSSE envelope with its institution's
event key, and sends the envelope, base64, as the `dssematerial` attribute (Kafka header
`ce_dssematerial`). No extension attribute is signed (`signedextattrs` is not used).

A consumer checks, before anything else, that the event is signed with a key the trust
registry lists for the institution whose topic carried it, valid now; then that the
material matches the event as received. Each refusal has a reason a dead letter carries.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from telemachus.shared.clock import Clock, utc_now
from telemachus.shared.contracts.envelope import HEADER_PREFIX, CloudEventAttributes
from telemachus.shared.security.keys import PrivateKey
from telemachus.shared.security.registry import TrustRegistry

PAYLOAD_TYPE = "https://cloudevents.io/verifiability/dsse/v0.1"
MATERIAL_HEADER = f"{HEADER_PREFIX}dssematerial"
MAX_MATERIAL = 4096  # one signature needs about 300 characters; more is not ours


# Dead-letter reasons.
UNSIGNED = "unsigned"
BAD_SIGNATURE = "bad-signature"
UNKNOWN_INSTITUTION = "unknown-institution"
UNKNOWN_KEY = "unknown-key"
EXPIRED_KEY = "expired-key"
WRONG_TOPIC_PREFIX = "wrong-topic-prefix"


class SignatureRefused(Exception):
    """Why an event's signature is not accepted (`reason` goes into the dead letter)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def verification_material(attributes: CloudEventAttributes, data: bytes) -> bytes:
    """The 32-byte digest the extension signs (dataschema is not used here: empty)."""
    parts = [
        attributes.id,
        attributes.source,
        attributes.specversion,
        attributes.type,
        attributes.datacontenttype,
        "",
        attributes.subject or "",
        _utc_text(attributes.time),
    ]
    digests = b"".join(hashlib.sha256(p.encode()).digest() for p in parts)
    return hashlib.sha256(digests + hashlib.sha256(data).digest()).digest()


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: the type is inside what is signed."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


@dataclass(frozen=True)
class EventSigner:
    """An institution's event signing key (from its private keys file)."""

    key: PrivateKey

    @cached_property
    def _private(self) -> Ed25519PrivateKey:
        return self.key.ed25519()  # made once: every outbox row is signed with it

    def material(self, attributes: CloudEventAttributes, data: bytes) -> str:
        payload = verification_material(attributes, data)
        signature = self._private.sign(pae(PAYLOAD_TYPE, payload))
        envelope = {
            "payload": base64.b64encode(payload).decode(),
            "payloadType": PAYLOAD_TYPE,
            "signatures": [{"keyid": self.key.kid, "sig": base64.b64encode(signature).decode()}],
        }
        return base64.b64encode(json.dumps(envelope, separators=(",", ":")).encode()).decode()

    def sign(self, headers: dict[str, str], data: bytes) -> dict[str, str]:
        """The headers with `ce_dssematerial` added."""
        attributes = CloudEventAttributes.from_headers(headers)
        return {**headers, MATERIAL_HEADER: self.material(attributes, data)}


def _envelope(material: str) -> tuple[bytes, list[tuple[str, bytes]]]:
    """(payload, [(keyid, sig)]) of a well-formed envelope of our payload type."""
    if len(material) > MAX_MATERIAL:
        raise SignatureRefused(BAD_SIGNATURE, f"dssematerial longer than {MAX_MATERIAL}")
    try:
        envelope = json.loads(base64.b64decode(material, validate=True))
        if envelope["payloadType"] != PAYLOAD_TYPE:
            raise SignatureRefused(
                BAD_SIGNATURE, f"payloadType {str(envelope['payloadType'])[:100]!r}"
            )
        payload = base64.b64decode(envelope["payload"], validate=True)
        signatures = [
            (str(s.get("keyid", "")), base64.b64decode(s["sig"], validate=True))
            for s in envelope["signatures"]
        ]
    except SignatureRefused:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as error:
        raise SignatureRefused(
            BAD_SIGNATURE, f"dssematerial is not a DSSE envelope: {type(error).__name__}"
        ) from None
    if len(payload) != 32 or not signatures:
        raise SignatureRefused(BAD_SIGNATURE, "dssematerial holds no 32-byte digest or no sig")
    return payload, signatures


class EventVerifier:
    """Checks events against the trust registry's event signing keys."""

    def __init__(self, registry: TrustRegistry, clock: Clock = utc_now) -> None:
        self._registry = registry
        self._clock = clock
        self._owner = {k.kid: i.id for i in registry for k in i.signing_keys}
        # Looked up per event: by id, and each public key made once.
        self._institutions = {i.id: i for i in registry}
        self._public: dict[bytes, Ed25519PublicKey] = {}

    def verify(
        self,
        attributes: CloudEventAttributes,
        material: str | None,
        data: bytes,
        origin: str,
    ) -> None:
        """Return if `origin` (whose topic carried the event) signed exactly this event
        with a key valid now; raise SignatureRefused with the reason otherwise."""
        if not material:
            raise SignatureRefused(UNSIGNED, "no ce_dssematerial header")
        institution = self._institutions.get(origin)
        if institution is None:
            raise SignatureRefused(UNKNOWN_INSTITUTION, f"{origin} is not in the trust registry")
        payload, signatures = _envelope(material)
        now = self._clock()
        keys = {k.kid: k for k in institution.signing_keys}
        problems = []
        for kid, sig in signatures:
            key = keys.get(kid)
            if key is None:
                owner = self._owner.get(kid)
                if owner is not None:
                    raise SignatureRefused(
                        WRONG_TOPIC_PREFIX,
                        f"signed by {owner} (key {kid[:100]}) but published on "
                        f"{institution.topic_prefix}*",
                    )
                problems.append((UNKNOWN_KEY, f"key {kid[:100]!r} is not {origin}'s"))
                continue
            if not key.valid_at(now):
                problems.append((EXPIRED_KEY, f"{origin}'s key {kid} is not valid now"))
                continue
            try:
                public = self._public.get(key.raw)
                if public is None:
                    public = self._public[key.raw] = Ed25519PublicKey.from_public_bytes(key.raw)
                public.verify(sig, pae(PAYLOAD_TYPE, payload))
            except InvalidSignature:
                problems.append((BAD_SIGNATURE, f"signature by {kid} does not verify"))
                continue
            if payload != verification_material(attributes, data):
                raise SignatureRefused(
                    BAD_SIGNATURE, "the event differs from what was signed (altered in transit)"
                )
            return
        reason, detail = problems[0]
        raise SignatureRefused(reason, detail)
