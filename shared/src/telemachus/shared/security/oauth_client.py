"""The client side of OAuth 2.0 as Telemachus uses it: the authorization-code flow with
PKCE (RFC 7636) as a public client, and token exchange (RFC 8693) at a home identity
service. The portal (in people's browsers) and the CLI (filling the development IdP's
forms itself) both use it."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

SCOPE = "openid email profile groups"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"


class SignInFailed(RuntimeError):
    """The provider refused, or answered with something this client cannot follow."""


@dataclass(frozen=True)
class SignedIn:
    id_token: str
    access_token: str
    expires_in: int
    refresh_token: str | None = None


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def fresh(cls) -> Pkce:
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"))


async def discover(http: httpx.AsyncClient, issuer: str) -> dict[str, Any]:
    """The provider's metadata, refused if it names another issuer (a mix-up attack)."""
    answer = await http.get(f"{issuer}/.well-known/openid-configuration")
    if answer.status_code != 200:
        raise SignInFailed(f"{issuer} answered {answer.status_code} for its configuration")
    discovery: dict[str, Any] = answer.json()
    if discovery.get("issuer") != issuer:
        raise SignInFailed(f"the provider at {issuer} names itself {discovery.get('issuer')}")
    return discovery


def authorization_url(
    discovery: dict[str, Any],
    client_id: str,
    redirect_uri: str,
    pkce: Pkce,
    state: str,
    nonce: str,
    *,
    scope: str = SCOPE,
    ui_locales: str | None = None,
) -> str:
    query = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": scope,
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "state": state,
        "nonce": nonce,
    }
    if ui_locales:
        query["ui_locales"] = ui_locales
    return f"{discovery['authorization_endpoint']}?{urlencode(query)}"


async def redeem_code(
    http: httpx.AsyncClient,
    discovery: dict[str, Any],
    client_id: str,
    redirect_uri: str,
    code: str,
    pkce_verifier: str,
) -> SignedIn:
    tokens = await http.post(
        discovery["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "code_verifier": pkce_verifier,
        },
    )
    if tokens.status_code != 200:
        raise SignInFailed(f"token endpoint: {tokens.status_code} {tokens.text[:300]}")
    body = tokens.json()
    return SignedIn(
        id_token=body["id_token"],
        access_token=body["access_token"],
        expires_in=int(body.get("expires_in", 0)),
        refresh_token=body.get("refresh_token"),
    )


@dataclass(frozen=True)
class Exchanged:
    access_token: str
    expires_in: int


async def exchange_token(
    http: httpx.AsyncClient, identity_url: str, subject_token: str, audience: str
) -> Exchanged:
    """A token for institution `audience`'s services, from the home identity service's
    token exchange, for the person the IdP's `subject_token` names."""
    answer = await http.post(
        f"{identity_url}/oauth/token",
        data={
            "grant_type": TOKEN_EXCHANGE,
            "subject_token": subject_token,
            "subject_token_type": ACCESS_TOKEN,
            "audience": f"telemachus:{audience}",
        },
    )
    if answer.status_code != 200:
        body = answer.json()
        raise SignInFailed(f"{body.get('error')}: {body.get('error_description')}")
    body = answer.json()
    return Exchanged(str(body["access_token"]), int(body.get("expires_in", 600)))
