"""Verify a Telemachus event as an integrator: the institution's signature (CloudEvents
verifiability: a DSSE envelope in `ce_dssematerial`, Ed25519, keys from the federation's trust
registry), then the body against the event version's published JSON Schema. Standalone: it
needs cryptography and jsonschema, nothing of Telemachus. Used by both examples here.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PAYLOAD_TYPE = "https://cloudevents.io/verifiability/dsse/v0.1"


class Refused(Exception):
    pass


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signing_keys(registry_file: Path, institution: str) -> dict[str, Ed25519PublicKey]:
    """The institution's event keys valid now, by kid."""
    now = datetime.now(UTC)
    for record in json.loads(registry_file.read_text())["institutions"]:
        if record["id"] != institution:
            continue
        keys = {}
        for key in record.get("signing_keys", []):
            start, end = key.get("not_before"), key.get("not_after")
            if start and now < datetime.fromisoformat(start.replace("Z", "+00:00")):
                continue
            if end and now >= datetime.fromisoformat(end.replace("Z", "+00:00")):
                continue
            keys[key["kid"]] = Ed25519PublicKey.from_public_bytes(b64url(key["x"]))
        return keys
    raise Refused(f"{institution} is not in the trust registry")


def material(headers: dict[str, str], data: bytes) -> bytes:
    """SHA-256 over the digests of the core attributes and the data (the extension's order)."""
    time = datetime.fromisoformat(headers["ce_time"].replace("Z", "+00:00"))
    parts = [
        headers.get("ce_id", ""),
        headers.get("ce_source", ""),
        headers.get("ce_specversion", ""),
        headers.get("ce_type", ""),
        headers.get("content-type", "application/json"),
        headers.get("ce_dataschema", ""),
        headers.get("ce_subject", ""),
        time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    ]
    digests = b"".join(hashlib.sha256(p.encode()).digest() for p in parts)
    return hashlib.sha256(digests + hashlib.sha256(data).digest()).digest()


def verify(headers: dict[str, str], data: bytes, topic: str, registry: Path) -> None:
    institution = topic.split(".")[1]  # telemachus.<institution>.<service>
    if headers.get("ce_source", "").split("/")[2:3] != [institution]:
        raise Refused(f"source {headers.get('ce_source')} published on {topic}")
    if "ce_dssematerial" not in headers:
        raise Refused("unsigned")
    envelope = json.loads(base64.b64decode(headers["ce_dssematerial"]))
    if envelope["payloadType"] != PAYLOAD_TYPE:
        raise Refused("unknown payload type")
    payload = base64.b64decode(envelope["payload"])
    signed = b"DSSEv1 %d %s %d %s" % (
        len(PAYLOAD_TYPE),
        PAYLOAD_TYPE.encode(),
        len(payload),
        payload,
    )
    keys = signing_keys(registry, institution)
    for signature in envelope["signatures"]:
        key = keys.get(signature.get("keyid", ""))
        if key is None:
            continue
        try:
            key.verify(base64.b64decode(signature["sig"]), signed)
        except InvalidSignature:
            continue
        if payload != material(headers, data):
            raise Refused("bad signature: the event differs from what was signed")
        return
    raise Refused(f"bad signature: no valid signature by a current key of {institution}")


def check(headers: dict[str, str], data: bytes, topic: str, registry: Path, schemas: Path) -> str:
    """`verified <type> <id>`, or `refused <reason>`: one line per record."""
    try:
        verify(headers, data, topic, registry)
        schema = json.loads((schemas / f"{headers['ce_type']}.schema.json").read_text())
        jsonschema.validate(json.loads(data), schema)
        return f"verified {headers['ce_type']} {headers['ce_id']}"
    except Refused as refused:
        return f"refused {refused}"
    except (jsonschema.ValidationError, ValueError, KeyError, FileNotFoundError) as error:
        first_line = (str(error).splitlines() or [""])[0][:200]
        return f"refused invalid: {type(error).__name__}: {first_line}"
