"""Bearer tokens from an institution's own OpenID Connect provider (Entra ID, Okta,
Keycloak, ADFS...): its keys found by discovery and JWKS, its claims mapped to Telemachus
roles by configuration.

A service accepts them only from its own institution's provider (the trust registry's
`oidc_issuer`); another institution's people reach it with a token their home exchanged
for them (token_exchange in identity), never with a foreign IdP's.

Keys: fetched on first use, looked up again at most every `refresh_seconds`, and at once
(but not more than every `min_refetch_seconds`) when a token names a key not yet seen, so
a rotation is picked up without a restart. When the provider cannot be reached, keys
fetched within `max_stale_seconds` still serve; past that every token is refused.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt

from telemachus.shared.errors import Unauthenticated
from telemachus.shared.security.tokens import MAX_LIFETIME, Principal, Role, decode_checked

# Asymmetric only: a symmetric `alg` with a public key as its secret is the classic
# confusion attack, and `none` is no signature at all.
ALGORITHMS = frozenset({"RS256", "ES256", "EdDSA"})

Fetch = Callable[[str], Awaitable[dict[str, Any]]]


async def fetch_json(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=5, follow_redirects=False) as http:
        response = await http.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        body = response.json()
    if not isinstance(body, dict):
        raise ValueError(f"{url} did not answer with a JSON object")
    return body


class ProviderKeys:
    """One issuer's signing keys, as its JWKS publishes them."""

    def __init__(
        self,
        issuer: str,
        *,
        fetch: Fetch = fetch_json,
        clock: Callable[[], float] = time.monotonic,
        refresh_seconds: float = 300,
        min_refetch_seconds: float = 10,
        max_stale_seconds: float = 3600,
    ) -> None:
        self.issuer = issuer
        self._fetch = fetch
        self._clock = clock
        self._refresh = refresh_seconds
        self._min_refetch = min_refetch_seconds
        self._max_stale = max_stale_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")  # when the keys above were fetched
        self._tried_at = float("-inf")  # the last attempt, successful or not
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> jwt.PyJWK:
        now = self._clock()
        due = now - self._fetched_at > self._refresh
        unknown = kid not in self._keys
        if due or unknown:
            if now - self._tried_at >= self._min_refetch:
                await self._refetch()
            elif self._lock.locked():
                # Another request's fetch is under way: wait for its keys rather than
                # judge the old ones (none, on the first requests after a start).
                async with self._lock:
                    pass
        if self._clock() - self._fetched_at > self._max_stale:
            raise Unauthenticated(
                f"the identity provider {self.issuer} cannot be reached for its keys"
            )
        found = self._keys.get(kid)
        if found is None:
            raise Unauthenticated(f"no key {kid!r} at {self.issuer}")
        return found

    async def _refetch(self) -> None:
        async with self._lock:
            if self._clock() - self._tried_at < self._min_refetch:
                return  # another request fetched them while this one waited
            self._tried_at = self._clock()
            try:
                discovery = await self._fetch(f"{self.issuer}/.well-known/openid-configuration")
                if discovery.get("issuer") != self.issuer:
                    raise ValueError(f"discovery names issuer {discovery.get('issuer')!r}")
                jwks = await self._fetch(str(discovery["jwks_uri"]))
                keys = {
                    str(k["kid"]): jwt.PyJWK(k)
                    for k in jwks.get("keys", [])
                    if isinstance(k, dict)
                    and k.get("kid")
                    and k.get("use", "sig") == "sig"
                    and _usable(k)
                }
            except (httpx.HTTPError, OSError, ValueError, KeyError, TypeError, jwt.PyJWKError):
                return  # the old keys serve until max_stale; the next try is after min_refetch
            self._keys, self._fetched_at = keys, self._clock()


def _usable(jwk: Mapping[str, Any]) -> bool:
    try:
        return jwt.PyJWK(dict(jwk)).algorithm_name in ALGORITHMS
    except jwt.PyJWKError:
        return False


@dataclass(frozen=True)
class ClaimMapping:
    """How the institution's IdP says who someone is and what they may do here.

    `roles_claim` is a claim name or a dotted path (Keycloak: `realm_access.roles`); each
    value found in it is looked up in `role_map`. Everyone signed in gets `default_roles`.
    """

    audience: str
    subject_claim: str = "sub"
    roles_claim: str = "groups"
    role_map: Mapping[str, Role] = field(default_factory=dict)
    default_roles: frozenset[Role] = frozenset({Role.PARTICIPANT})

    def roles(self, claims: Mapping[str, Any]) -> frozenset[Role]:
        found: Any = claims
        for part in self.roles_claim.split("."):
            found = found.get(part) if isinstance(found, Mapping) else None
        values = found if isinstance(found, list) else [found] if isinstance(found, str) else []
        mapped = {self.role_map[v] for v in values if isinstance(v, str) and v in self.role_map}
        return frozenset(mapped) | self.default_roles

    @staticmethod
    def parse_role_map(text: str) -> dict[str, Role]:
        """`group=role,group=role` (from an environment variable)."""
        mapping: dict[str, Role] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            group, sep, role = item.rpartition("=")
            if not sep or not group or role not in Role._value2member_map_:
                wanted = ", ".join(r.value for r in Role)
                raise ValueError(f"{item!r}: expected group=role, a role one of {wanted}")
            mapping[group] = Role(role)
        return mapping


class OidcVerifier:
    """Access tokens of one institution's IdP, for that institution's services."""

    def __init__(
        self,
        institution: str,
        keys: ProviderKeys,
        mapping: ClaimMapping,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_lifetime: timedelta = MAX_LIFETIME,
    ) -> None:
        self.institution = institution
        self.issuer = keys.issuer
        self._keys = keys
        self._mapping = mapping
        self._clock = clock
        self._max_lifetime = max_lifetime

    async def claims(self, token: str) -> dict[str, Any]:
        """The token's claims once signature, issuer, audience and times check."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as error:
            raise Unauthenticated(f"malformed token: {error}") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS:
            raise Unauthenticated(
                f"alg {alg!r} is not accepted (only {', '.join(sorted(ALGORITHMS))})"
            )
        if not isinstance(kid, str):
            raise Unauthenticated("the token names no key (kid)")
        key = await self._keys.key(kid)
        if key.algorithm_name != alg:
            raise Unauthenticated(f"key {kid!r} is a {key.algorithm_name} key, not {alg}")
        return decode_checked(
            token,
            key.key,
            alg,
            audience=self._mapping.audience,
            issuer=self.issuer,
            now=self._clock(),
            max_lifetime=self._max_lifetime,
        )

    async def verify(self, token: str) -> Principal:
        claims = await self.claims(token)
        subject = claims.get(self._mapping.subject_claim)
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated(f"the token has no {self._mapping.subject_claim} claim")
        return Principal(self.institution, subject, self._mapping.roles(claims))
