"""Sealing personal fields for one institution: HPKE (RFC 9180) base mode.

Suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305. The `context` is bound
into the key schedule (HPKE `info`), so a sealed value cut from one event and pasted into
another (another pairing, another person) does not open.
"""

from __future__ import annotations

from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from pydantic import BaseModel, ConfigDict, Field

from telemachus.shared.security.keys import InstitutionKeys
from telemachus.shared.security.registry import PublicKey, b64url, from_b64url

ALGORITHM = "HPKE-Base-X25519-SHA256-ChaCha20Poly1305"
_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)


class SealedV1(BaseModel):
    """A value only the holder of `kid`'s private key can open."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    alg: Literal["HPKE-Base-X25519-SHA256-ChaCha20Poly1305"] = (
        "HPKE-Base-X25519-SHA256-ChaCha20Poly1305"
    )
    recipient: str = Field(description="the institution that can open it")
    kid: str = Field(description="which of the recipient's encryption keys")
    ciphertext: str = Field(
        max_length=8192, description="HPKE encapsulated key + ciphertext, base64url"
    )


class SealError(Exception):
    """The value cannot be opened here: not ours, unknown key, or altered."""


def seal(plaintext: bytes, recipient: str, key: PublicKey, context: str) -> SealedV1:
    if key.crv != "X25519":
        raise ValueError(f"key {key.kid} is {key.crv}, not an encryption key")
    public = X25519PublicKey.from_public_bytes(key.raw)
    ciphertext = _SUITE.encrypt(plaintext, public, info=context.encode())
    return SealedV1(recipient=recipient, kid=key.kid, ciphertext=b64url(ciphertext))


def open_sealed(sealed: SealedV1, keys: InstitutionKeys, context: str) -> bytes:
    if sealed.recipient != keys.institution:
        raise SealError(f"sealed for {sealed.recipient}, not {keys.institution}")
    private = keys.encryption_key(sealed.kid)
    if private is None:
        raise SealError(f"no private key {sealed.kid} here")
    try:
        return _SUITE.decrypt(from_b64url(sealed.ciphertext), private, info=context.encode())
    except (InvalidTag, ValueError) as error:
        raise SealError(f"does not open: {type(error).__name__}") from None
