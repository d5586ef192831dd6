"""The institution's signature on an event: the CloudEvents verifiability extension, a
DSSE envelope (Ed25519) in the `dssematerial` attribute, over a digest of the core
attributes and the data. The same on Kafka (`ce_dssematerial`) and webhooks
(`ce-dssematerial`)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature

from telemachus_integrator.events import Refused
from telemachus_integrator.registry import TrustRegistry

PAYLOAD_TYPE = "https://cloudevents.io/verifiability/dsse/v0.1"
# The attributes the digest covers, in the extension's order.
SIGNED = ("id", "source", "specversion", "type", "datacontenttype", "dataschema", "subject")


def material(attributes: Mapping[str, str], data: bytes) -> bytes:
    time = datetime.fromisoformat(attributes["time"].replace("Z", "+00:00"))
    parts = [attributes.get(name, "") for name in SIGNED]
    parts.append(time.astimezone(UTC).isoformat().replace("+00:00", "Z"))
    digests = b"".join(hashlib.sha256(p.encode()).digest() for p in parts)
    return hashlib.sha256(digests + hashlib.sha256(data).digest()).digest()


def verify(
    attributes: Mapping[str, str], data: bytes, institution: str, registry: TrustRegistry
) -> None:
    """Raises Refused unless a current key of `institution` signed exactly this event.
    `attributes`: CloudEvents attribute names without prefix (id, source, …, dssematerial)."""
    if not attributes.get("dssematerial"):
        raise Refused("unsigned", "no dssematerial attribute")
    try:
        envelope = json.loads(base64.b64decode(attributes["dssematerial"]))
        payload = base64.b64decode(envelope["payload"])
        signatures = envelope["signatures"]
    except (ValueError, KeyError, TypeError) as error:
        raise Refused("bad-signature", f"the envelope is malformed: {error}") from None
    if envelope.get("payloadType") != PAYLOAD_TYPE:
        raise Refused("bad-signature", f"unknown payload type {envelope.get('payloadType')}")
    signed = b"DSSEv1 %d %s %d %s" % (
        len(PAYLOAD_TYPE),
        PAYLOAD_TYPE.encode(),
        len(payload),
        payload,
    )
    keys = registry.signing_keys(institution)
    for signature in signatures:
        key = keys.get(signature.get("keyid", ""))
        if key is None:
            continue
        try:
            key.verify(base64.b64decode(signature["sig"]), signed)
        except (InvalidSignature, ValueError, KeyError):
            continue
        if payload != material(attributes, data):
            raise Refused("bad-signature", "the event differs from what was signed")
        return
    raise Refused("bad-signature", f"no valid signature by a current key of {institution}")
