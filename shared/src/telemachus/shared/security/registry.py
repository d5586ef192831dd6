"""The trust registry: which institutions exist, and the public keys each one uses.

It comes from configuration only (a JSON file each institution's operators agree on);
no API call can add an institution or a key. Keys are written as JSON Web Keys (RFC 8037:
`kty` OKP, `crv`, `x`) with an optional validity period, so a key can be rotated with an
overlap in which the old and the new key are both valid.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from telemachus.shared.contracts.vocabulary import InstitutionId, InstitutionKind


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PublicKey(BaseModel):
    """One public key as a JWK, valid from `not_before` until `not_after` (either open)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kid: str = Field(min_length=1, max_length=100)
    kty: Literal["OKP"] = "OKP"
    crv: Literal["Ed25519", "X25519"]
    x: str = Field(pattern=r"^[A-Za-z0-9_-]{43}$", description="32 raw bytes, base64url")
    not_before: datetime | None = None
    not_after: datetime | None = None

    def valid_at(self, moment: datetime) -> bool:
        if self.not_before is not None and moment < self.not_before:
            return False
        return self.not_after is None or moment < self.not_after

    @property
    def raw(self) -> bytes:
        return from_b64url(self.x)


class InstitutionRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: InstitutionId
    name: str = Field(min_length=1, max_length=200)
    kind: InstitutionKind
    # The `iss` of the tokens this institution's identity service issues for its people
    # (token exchange), which every member verifies with `token_keys`.
    token_issuer: str = Field(min_length=1, max_length=300)
    token_keys: list[PublicKey] = Field(min_length=1)
    # The institution's own OpenID Connect provider, found by discovery; only the
    # institution's own services accept its tokens (security/oidc.py).
    oidc_issuer: str | None = Field(default=None, min_length=1, max_length=300)
    # Signs the events this institution publishes (CloudEvents verifiability).
    signing_keys: list[PublicKey] = Field(default_factory=list)
    # Others encrypt personal fields meant for this institution alone to these keys.
    encryption_keys: list[PublicKey] = Field(default_factory=list)

    @model_validator(mode="after")
    def _curves(self) -> InstitutionRecord:
        for name, curve in (
            ("token_keys", "Ed25519"),
            ("signing_keys", "Ed25519"),
            ("encryption_keys", "X25519"),
        ):
            keys: list[PublicKey] = getattr(self, name)
            if any(key.crv != curve for key in keys):
                raise ValueError(f"{self.id}: every key in {name} must be {curve}")
            if len({key.kid for key in keys}) != len(keys):
                raise ValueError(f"{self.id}: a kid is repeated in {name}")
        return self

    @property
    def topic_prefix(self) -> str:
        return f"telemachus.{self.id}."

    def current_encryption_key(self, moment: datetime) -> PublicKey | None:
        """The newest key valid now: senders move to a new key as soon as it is valid."""
        valid = [k for k in self.encryption_keys if k.valid_at(moment)]
        # Keys without a start date count as oldest; of the rest, the latest start wins.
        valid.sort(key=lambda k: (k.not_before is not None, k.not_before or moment))
        return valid[-1] if valid else None


class TrustRegistry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    institutions: list[InstitutionRecord] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> TrustRegistry:
        ids = [i.id for i in self.institutions]
        issuers = [i.token_issuer for i in self.institutions]
        issuers += [i.oidc_issuer for i in self.institutions if i.oidc_issuer is not None]
        if len(set(ids)) != len(ids):
            raise ValueError("an institution id is listed twice")
        if len(set(issuers)) != len(issuers):
            raise ValueError("two institutions share a token issuer or an OIDC issuer")
        return self

    def __iter__(self) -> Iterator[InstitutionRecord]:  # type: ignore[override]
        return iter(self.institutions)

    def get(self, institution: str) -> InstitutionRecord | None:
        return next((i for i in self.institutions if i.id == institution), None)

    def by_issuer(self, issuer: str) -> InstitutionRecord | None:
        return next((i for i in self.institutions if i.token_issuer == issuer), None)

    @classmethod
    def load(cls, path: Path) -> TrustRegistry:
        return cls.model_validate_json(path.read_bytes())
