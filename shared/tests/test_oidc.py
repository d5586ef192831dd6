"""Tokens of an institution's own OpenID Connect provider: every way a token can be wrong
is refused with a reason, keys rotate without a restart, and an unreachable provider
refuses rather than accepts. The provider here is a fake JWKS endpoint; the real one
(node-oidc-provider) is in tests/test_sign_in.py."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from telemachus.shared.errors import Unauthenticated
from telemachus.shared.security.oidc import ClaimMapping, OidcVerifier, ProviderKeys
from telemachus.shared.security.tokens import Role

ISSUER = "https://login.hospital.example/realms/staff"
AUDIENCE = "telemachus:hospital"
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


class Provider:
    """A fake IdP: discovery and JWKS documents, which can go away."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[str, Any]] = {}  # kid -> (alg, private key)
        self.reachable = True
        self.fetches = 0
        self.add("RS256")

    def add(self, alg: str) -> str:
        kid = f"{alg}-{secrets.token_hex(3)}"
        make = {
            "RS256": lambda: rsa.generate_private_key(65537, 2048),
            "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
            "EdDSA": ed25519.Ed25519PrivateKey.generate,
        }[alg]
        self.keys[kid] = (alg, make())
        return kid

    async def fetch(self, url: str) -> dict[str, Any]:
        self.fetches += 1
        if not self.reachable:
            raise OSError("connection refused")
        if url.endswith("/.well-known/openid-configuration"):
            return {"issuer": ISSUER, "jwks_uri": f"{ISSUER}/certs"}
        return {"keys": [self._public_jwk(kid) for kid in self.keys]}

    def _public_jwk(self, kid: str) -> dict[str, Any]:
        alg, key = self.keys[kid]
        public = key.public_key()
        if alg == "RS256":
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        elif alg == "ES256":
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": kid, "use": "sig"}

    def token(self, kid: str | None = None, **claims: Any) -> str:
        kid = kid or next(iter(self.keys))
        alg, key = self.keys[kid]
        body = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "f3c1-ada",
            "iat": int(NOW.timestamp()),
            "exp": int((NOW + timedelta(minutes=10)).timestamp()),
            "groups": ["staff"],
            **claims,
        }
        return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})


class Clock:
    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


def verifier(provider: Provider, clock: Clock | None = None, **mapping: Any) -> OidcVerifier:
    keys = ProviderKeys(
        ISSUER,
        fetch=provider.fetch,
        clock=clock or Clock(),
        refresh_seconds=300,
        min_refetch_seconds=10,
        max_stale_seconds=3600,
    )
    return OidcVerifier(
        "hospital", keys, ClaimMapping(audience=AUDIENCE, **mapping), clock=lambda: NOW
    )


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
async def test_tokens_signed_with_each_accepted_algorithm_name_the_person(alg: str) -> None:
    provider = Provider()
    kid = provider.add(alg)
    principal = await verifier(provider).verify(provider.token(kid))
    assert (principal.institution, principal.subject) == ("hospital", "f3c1-ada")
    assert principal.roles == {Role.PARTICIPANT} and principal.participant_ref is None


async def test_groups_map_to_roles_by_configuration_including_nested_claims() -> None:
    provider = Provider()
    mapping = {"telemachus-coordinators": Role.COORDINATOR, "ops": Role.OPERATOR}
    flat = verifier(provider, role_map=mapping)
    token = provider.token(groups=["staff", "telemachus-coordinators"])
    assert (await flat.verify(token)).roles == {Role.COORDINATOR, Role.PARTICIPANT}
    keycloak = verifier(provider, roles_claim="realm_access.roles", role_map=mapping)
    token = provider.token(realm_access={"roles": ["ops"]})
    assert (await keycloak.verify(token)).roles == {Role.OPERATOR, Role.PARTICIPANT}
    by_email = verifier(provider, subject_claim="email")
    principal = await by_email.verify(provider.token(email="ada@hospital.example"))
    assert principal.subject == "ada@hospital.example"
    with pytest.raises(Unauthenticated, match="no email claim"):
        await by_email.verify(provider.token())


def _unsigned(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        raw = json.dumps(data).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'kid': 'x'})}.{part(claims)}."


def _hmac_signed(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    """By hand: PyJWT itself refuses to use a public key as an HMAC secret."""

    def part(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = part(json.dumps({"alg": "HS256", "kid": kid}).encode())
    body = part(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{part(signature)}"


async def test_every_wrong_token_is_refused_with_its_reason() -> None:
    provider = Provider()
    check = verifier(provider)
    kid = next(iter(provider.keys))
    public_pem = (
        provider.keys[kid][1]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    base = jwt.decode(provider.token(), options={"verify_signature": False})
    # HS256 keyed with the provider's public key: the classic algorithm confusion.
    confused = _hmac_signed(base, public_pem, kid)
    an_hour_ago = int((NOW - timedelta(hours=1)).timestamp())
    cases = {
        "malformed": ("not.a.token", "malformed token"),
        "unsigned": (_unsigned(base), "alg 'none' is not accepted"),
        "alg-confused": (confused, "alg 'HS256' is not accepted"),
        "wrong-audience": (provider.token(aud="telemachus:university"), "Audience"),
        "wrong-issuer": (provider.token(iss="https://evil.example"), "issuer"),
        "expired": (provider.token(exp=an_hour_ago, iat=an_hour_ago - 60), "expired"),
        "too-long-lived": (
            provider.token(exp=int((NOW + timedelta(days=30)).timestamp())),
            "longer than",
        ),
        "no-subject": (provider.token(sub=None), "sub"),
        "unknown-key": (
            jwt.encode(base, provider.keys[kid][1], algorithm="RS256", headers={"kid": "gone"}),
            "no key 'gone'",
        ),
    }
    for name, (token, reason) in cases.items():
        with pytest.raises(Unauthenticated, match=reason):
            await check.verify(token)
        assert name


async def test_a_key_of_one_algorithm_cannot_sign_as_another() -> None:
    provider = Provider()
    ec_kid = provider.add("ES256")
    rsa_kid = next(iter(provider.keys))
    # An RS256 signature presented as the EC key's.
    body = jwt.decode(provider.token(), options={"verify_signature": False})
    forged = jwt.encode(body, provider.keys[rsa_kid][1], algorithm="RS256", headers={"kid": ec_kid})
    with pytest.raises(Unauthenticated, match="is a ES256 key, not RS256"):
        await verifier(provider).verify(forged)


async def test_a_rotated_key_is_picked_up_without_a_restart_but_not_on_every_request() -> None:
    provider, clock = Provider(), Clock()
    check = verifier(provider, clock)
    await check.verify(provider.token())
    assert provider.fetches == 2  # discovery, then JWKS
    new_kid = provider.add("ES256")
    clock.seconds += 11  # past the minimum between fetches
    assert (await check.verify(provider.token(new_kid))).subject == "f3c1-ada"
    assert provider.fetches == 4
    # A flood of tokens naming unknown keys does not become a flood of fetches.
    body = jwt.decode(provider.token(), options={"verify_signature": False})
    for n in range(5):
        unknown = jwt.encode(body, provider.keys[new_kid][1], "ES256", headers={"kid": f"k{n}"})
        with pytest.raises(Unauthenticated, match="no key"):
            await check.verify(unknown)
    assert provider.fetches == 4  # within min_refetch_seconds of the last fetch


async def test_an_unreachable_provider_refuses_once_its_keys_are_too_old() -> None:
    provider, clock = Provider(), Clock()
    never_seen = verifier(provider, clock)
    provider.reachable = False
    with pytest.raises(Unauthenticated, match="cannot be reached"):
        await never_seen.verify(provider.token())

    provider.reachable = True
    check = verifier(provider, clock)
    await check.verify(provider.token())
    provider.reachable = False
    clock.seconds += 600  # due for a refresh, which fails: the keys still serve
    assert (await check.verify(provider.token())).subject == "f3c1-ada"
    clock.seconds += 3600  # older than max_stale: refused, not accepted on old keys
    with pytest.raises(Unauthenticated, match="cannot be reached"):
        await check.verify(provider.token())


async def test_requests_arriving_while_the_first_fetch_is_under_way_wait_for_its_keys() -> None:
    """Just after a start no key is known: the second request must not be refused because
    the first one's fetch has not answered yet (the portal's evaluation page met this)."""
    provider = Provider()
    slow_fetch = provider.fetch

    async def slow(url: str) -> dict[str, Any]:
        await asyncio.sleep(0.05)  # the provider answers a moment later
        return await slow_fetch(url)

    provider.fetch = slow  # type: ignore[method-assign]
    check = verifier(provider)
    token = provider.token()
    verified = await asyncio.gather(*(check.verify(token) for _ in range(3)))
    assert [v.subject for v in verified] == ["f3c1-ada"] * 3
    assert provider.fetches == 2  # one discovery, one JWKS: the others waited for them


def test_a_role_map_with_a_typo_is_refused_naming_the_item() -> None:
    assert ClaimMapping.parse_role_map(" a=coordinator, b=operator ") == {
        "a": Role.COORDINATOR,
        "b": Role.OPERATOR,
    }
    with pytest.raises(ValueError, match="'staff=coordinater'"):
        ClaimMapping.parse_role_map("staff=coordinater")
