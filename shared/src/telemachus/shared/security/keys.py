"""An institution's private keys, and development key material for a local federation.

Private keys live in a file each institution keeps to itself (a mounted secret in
production); the public halves go into the shared trust registry.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.hazmat.primitives.serialization import PublicFormat as PubFormat
from pydantic import BaseModel, ConfigDict, Field

from telemachus.shared.contracts.vocabulary import InstitutionKind
from telemachus.shared.security.registry import (
    InstitutionRecord,
    PublicKey,
    TrustRegistry,
    b64url,
    from_b64url,
)


class PrivateKey(BaseModel):
    """A private key as a JWK (`d` holds the 32 raw bytes, base64url)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kid: str
    crv: str
    d: str = Field(repr=False)

    def ed25519(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(from_b64url(self.d))

    def x25519(self) -> X25519PrivateKey:
        return X25519PrivateKey.from_private_bytes(from_b64url(self.d))


class InstitutionKeys(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    institution: str
    # Every key still able to open what was sealed to this institution, old ones included.
    encryption_keys: list[PrivateKey] = Field(default_factory=list)
    signing_key: PrivateKey | None = None
    # Keys one-way codes (e.g. a department) so that equal values match across events
    # without revealing the value; 32 random bytes, base64url.
    pseudonym_key: str | None = Field(default=None, repr=False)
    # Only a development issuer holds this; production tokens come from the institution's IdP.
    token_signing_key: PrivateKey | None = None

    def encryption_key(self, kid: str) -> X25519PrivateKey | None:
        key = next((k for k in self.encryption_keys if k.kid == kid), None)
        return key.x25519() if key else None

    @classmethod
    def load(cls, path: Path) -> InstitutionKeys:
        return cls.model_validate_json(path.read_bytes())


def _raw_private(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def _raw_public(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PubFormat.Raw)


def new_ed25519(kid: str) -> tuple[PrivateKey, PublicKey]:
    key = Ed25519PrivateKey.generate()
    return (
        PrivateKey(kid=kid, crv="Ed25519", d=b64url(_raw_private(key))),
        PublicKey(kid=kid, crv="Ed25519", x=b64url(_raw_public(key))),
    )


def new_x25519(kid: str) -> tuple[PrivateKey, PublicKey]:
    key = X25519PrivateKey.generate()
    return (
        PrivateKey(kid=kid, crv="X25519", d=b64url(_raw_private(key))),
        PublicKey(kid=kid, crv="X25519", x=b64url(_raw_public(key))),
    )


def dev_issuer(institution: str) -> str:
    return f"https://idp.{institution}.invalid/dev"


def development_trust(
    institutions: Sequence[tuple[str, str, InstitutionKind]],
) -> tuple[TrustRegistry, dict[str, InstitutionKeys]]:
    """Fresh keys for a local federation: the registry, and each institution's private keys."""
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    records, secrets = [], {}
    for institution, name, kind in institutions:
        token_private, token_public = new_ed25519(f"{institution}-token-{stamp}")
        sign_private, sign_public = new_ed25519(f"{institution}-events-{stamp}")
        seal_private, seal_public = new_x25519(f"{institution}-seal-{stamp}")
        records.append(
            InstitutionRecord(
                id=institution,
                name=name,
                kind=kind,
                token_issuer=dev_issuer(institution),
                token_keys=[token_public],
                signing_keys=[sign_public],
                encryption_keys=[seal_public],
            )
        )
        secrets[institution] = InstitutionKeys(
            institution=institution,
            encryption_keys=[seal_private],
            signing_key=sign_private,
            token_signing_key=token_private,
            pseudonym_key=b64url(os.urandom(32)),
        )
    return TrustRegistry(institutions=records), secrets


def write_development_trust(
    directory: Path, registry: TrustRegistry, keys: dict[str, InstitutionKeys]
) -> tuple[Path, dict[str, Path]]:
    """registry.json (shared) and <institution>.keys.json (private, mode 0600)."""
    directory.mkdir(parents=True, exist_ok=True)
    registry_file = directory / "registry.json"
    registry_file.write_text(registry.model_dump_json(indent=2, exclude_none=True))
    key_files = {}
    for institution, secret in keys.items():
        path = directory / f"{institution}.keys.json"
        path.touch(mode=0o600)
        path.write_text(secret.model_dump_json(indent=2, exclude_none=True))
        key_files[institution] = path
    return registry_file, key_files


def load_or_create_development_trust(
    directory: Path,
    institutions: Sequence[tuple[str, str, InstitutionKind]],
    oidc_issuers: Mapping[str, str] | None = None,
) -> tuple[Path, dict[str, Path]]:
    """Reuse the keys in `directory` if they cover these institutions, else make new ones.

    Reuse keeps tokens minted by `telemachus token` valid across restarts of `up`. Each
    institution's record names its OIDC issuer from `oidc_issuers` (the development IdPs
    get a new port on each start).
    """
    registry_file = directory / "registry.json"
    wanted = {i[0] for i in institutions}
    key_files = {i: directory / f"{i}.keys.json" for i in wanted}
    if registry_file.exists() and all(p.exists() for p in key_files.values()):
        registry = TrustRegistry.load(registry_file)
        if {i.id for i in registry} == wanted:
            _name_issuers(registry_file, registry, oidc_issuers or {})
            return registry_file, key_files
    registry, keys = development_trust(institutions)
    registry_file, key_files = write_development_trust(directory, registry, keys)
    _name_issuers(registry_file, registry, oidc_issuers or {})
    return registry_file, key_files


def _name_issuers(path: Path, registry: TrustRegistry, issuers: Mapping[str, str]) -> None:
    records = [r.model_copy(update={"oidc_issuer": issuers.get(r.id)}) for r in registry]
    if records != list(registry):
        named = TrustRegistry(institutions=records)
        path.write_text(named.model_dump_json(indent=2, exclude_none=True))
