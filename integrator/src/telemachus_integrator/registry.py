"""The federation's trust registry (a public JSON file every member shares): which keys
sign each institution's events, and when."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from telemachus_integrator.events import Refused


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


class TrustRegistry:
    def __init__(self, document: dict[str, Any]) -> None:
        self._institutions = {i["id"]: i for i in document.get("institutions", [])}

    @classmethod
    def load(cls, path: Path | str) -> TrustRegistry:
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def signing_keys(
        self, institution: str, at: datetime | None = None
    ) -> dict[str, Ed25519PublicKey]:
        """The institution's event-signing keys valid at `at` (default now), by key id."""
        record = self._institutions.get(institution)
        if record is None:
            raise Refused("wrong-source", f"{institution} is not in the trust registry")
        moment = at or datetime.now(UTC)
        keys = {}
        for key in record.get("signing_keys", []):
            start, end = _moment(key.get("not_before")), _moment(key.get("not_after"))
            if (start and moment < start) or (end and moment >= end):
                continue
            keys[key["kid"]] = Ed25519PublicKey.from_public_bytes(_b64url(key["x"]))
        return keys
