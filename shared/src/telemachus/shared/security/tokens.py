"""Bearer tokens: JWTs signed (EdDSA) by an institution's issuer listed in the trust registry.

A service accepts a token only if its issuer is in the registry, its `kid` names one of
that issuer's keys valid now, its signature checks, its audience is this institution and
it has not expired. The caller's institution comes from the issuer, never from a claim.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from telemachus.shared.clock import Clock, utc_now
from telemachus.shared.errors import Unauthenticated
from telemachus.shared.security.keys import InstitutionKeys, PrivateKey, dev_issuer
from telemachus.shared.security.registry import TrustRegistry

LEEWAY = timedelta(seconds=30)  # clocks of different institutions drift a little
MAX_LIFETIME = timedelta(hours=12)  # a working day: longer-lived tokens are refused
REF = re.compile(r"^[a-z][a-z0-9-]{1,40}:[A-Za-z0-9_-]{6,64}$")  # as ParticipantRef


class Role(StrEnum):
    COORDINATOR = "coordinator"  # runs programs and manages people of their institution
    PARTICIPANT = "participant"  # acts on their own record only
    INTEGRATOR = "integrator"  # a system that reads (HR, learning management)
    AUDITOR = "auditor"  # reads consent and erasure records
    OPERATOR = "operator"  # runs the institution's services: dead letters, replays
    PROVISIONER = "provisioner"  # an HR system or IdP keeping the roster (SCIM)
    # Named by their institution to act on its people's confidential concerns.
    SAFEGUARDING = "safeguarding"


def audience_of(institution: str) -> str:
    return f"telemachus:{institution}"


@dataclass(frozen=True)
class Principal:
    institution: str
    subject: str
    roles: frozenset[Role]
    # The person's pseudonymous reference, vouched for by their home issuer (claim
    # "ref"): how services outside the home institution know who a participant is.
    participant_ref: str | None = None
    # Issued by a member's identity service, which looked the person up on its roster: a
    # person on it carries their ref. An IdP's own token says nothing of the roster.
    vouched: bool = False

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))


def _utc(now: datetime) -> datetime:
    return now if now.tzinfo else now.replace(tzinfo=UTC)


class TokenVerifier:
    def __init__(
        self,
        registry: TrustRegistry,
        audience: str,
        clock: Clock = utc_now,
        max_lifetime: timedelta = MAX_LIFETIME,
    ) -> None:
        self._registry = registry
        self._audience = audience
        self._clock = clock
        self._max_lifetime = max_lifetime

    def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError as error:
            raise Unauthenticated(f"malformed token: {error}") from None
        issuer = unverified.get("iss")
        institution = self._registry.by_issuer(str(issuer)) if issuer else None
        if institution is None:
            raise Unauthenticated(f"issuer {issuer!r} is not in the trust registry")
        now = _utc(self._clock())
        key = next(
            (k for k in institution.token_keys if k.kid == header.get("kid") and k.valid_at(now)),
            None,
        )
        if key is None:
            raise Unauthenticated(f"no key {header.get('kid')!r} of {issuer} is valid now")
        claims = decode_checked(
            token,
            Ed25519PublicKey.from_public_bytes(key.raw),
            "EdDSA",
            audience=self._audience,
            issuer=institution.token_issuer,
            now=now,
            max_lifetime=self._max_lifetime,
        )
        roles = frozenset(
            Role(r) for r in _strings(claims.get("roles")) if r in Role._value2member_map_
        )
        return Principal(
            institution.id,
            str(claims["sub"]),
            roles,
            _own_ref(claims, institution.id),
            vouched=True,
        )


def decode_checked(
    token: str,
    key: Any,
    alg: str,
    *,
    audience: str,
    issuer: str,
    now: datetime,
    max_lifetime: timedelta,
) -> dict[str, Any]:
    """The claims once signature, audience and issuer check, and the times check against
    this service's clock (not PyJWT's): not expired, not issued in the future, and not
    living longer than `max_lifetime`, within LEEWAY."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=audience,
            issuer=issuer,
            options={
                "require": ["exp", "iat", "sub", "aud", "iss"],
                "verify_exp": False,
                "verify_iat": False,
            },
        )
        expires = datetime.fromtimestamp(float(claims["exp"]), UTC)
        issued = datetime.fromtimestamp(float(claims["iat"]), UTC)
    except (jwt.InvalidTokenError, TypeError, ValueError, OverflowError) as error:
        raise Unauthenticated(f"token refused: {error}") from None
    if expires + LEEWAY < now:
        raise Unauthenticated(f"token expired at {expires.isoformat()}")
    if issued - LEEWAY > now:
        raise Unauthenticated("token issued in the future")
    if expires - issued > max_lifetime:
        raise Unauthenticated(
            f"token lives {expires - issued}, longer than the {max_lifetime} allowed"
        )
    return claims


def _own_ref(claims: dict[str, Any], institution: str) -> str | None:
    """The "ref" claim, if any. An issuer vouches only for its own people."""
    ref = claims.get("ref")
    if ref is None:
        return None
    if not isinstance(ref, str) or not REF.fullmatch(ref):
        raise Unauthenticated("the ref claim is not a participant reference")
    if not ref.startswith(f"{institution}:"):
        raise Unauthenticated(f"{institution}'s issuer may vouch only for {institution}'s people")
    return ref


def _strings(value: object) -> Iterable[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def token_issuer_of(keys: InstitutionKeys, issuer: str | None = None) -> TokenIssuer:
    """The issuer of an institution whose keys file holds its token key: its identity
    service's token exchange (`issuer`: the registry's token_issuer; by default the
    development federation's)."""
    if keys.token_signing_key is None:
        raise ValueError(f"the keys of {keys.institution} hold no token signing key")
    return TokenIssuer(issuer or dev_issuer(keys.institution), keys.token_signing_key)


class TokenIssuer:
    """Signs the tokens an institution's identity service issues for its people by token
    exchange (and, for the tests of token rules alone, tokens minted directly)."""

    def __init__(
        self,
        issuer: str,
        key: PrivateKey,
        clock: Clock = utc_now,
    ) -> None:
        self.issuer = issuer
        self._key = key
        self._clock = clock

    def mint(
        self,
        subject: str,
        roles: Iterable[Role | str],
        audience: str,
        lifetime: timedelta = timedelta(hours=8),
        participant_ref: str | None = None,
    ) -> str:
        now = _utc(self._clock())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject,
            "aud": audience,
            "iat": int(now.timestamp()),
            "exp": int((now + lifetime).timestamp()),
            "roles": [str(r) for r in roles],
        }
        if participant_ref is not None:
            claims["ref"] = participant_ref
        claims["jti"] = secrets.token_urlsafe(12)
        return jwt.encode(
            claims, self._key.ed25519(), algorithm="EdDSA", headers={"kid": self._key.kid}
        )
