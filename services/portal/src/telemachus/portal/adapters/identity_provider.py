"""The home institution's OpenID Connect provider, as the portal (a public client with
PKCE) uses it: where to send the browser, and what comes back."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx

from telemachus.shared.errors import Unauthenticated
from telemachus.shared.security.oauth_client import (
    Pkce,
    SignInFailed,
    authorization_url,
    discover,
    redeem_code,
)
from telemachus.shared.security.oidc import ClaimMapping, OidcVerifier, ProviderKeys
from telemachus.shared.security.tokens import Role


@dataclass(frozen=True)
class Person:
    subject: str
    name: str
    roles: frozenset[Role]
    access_token: str
    expires_in: int


class IdentityProvider:
    def __init__(
        self,
        institution: str,
        issuer: str,
        client_id: str,
        redirect_uri: str,
        mapping: ClaimMapping,
        http: httpx.AsyncClient,
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self._http = http
        self._discovery: dict[str, Any] | None = None
        self._lock = asyncio.Lock()
        # The ID token is for the portal (aud = client id); groups in it give roles.
        self._id_tokens = OidcVerifier(
            institution,
            ProviderKeys(issuer),
            ClaimMapping(
                audience=client_id,
                subject_claim=mapping.subject_claim,
                roles_claim=mapping.roles_claim,
                role_map=mapping.role_map,
            ),
        )
        self._mapping = mapping

    async def _metadata(self) -> dict[str, Any]:
        async with self._lock:
            if self._discovery is None:
                self._discovery = await discover(self._http, self.issuer)
            return self._discovery

    async def authorization_url(
        self, pkce: Pkce, state: str, nonce: str, language: str | None
    ) -> str:
        return authorization_url(
            await self._metadata(),
            self.client_id,
            self.redirect_uri,
            pkce,
            state,
            nonce,
            ui_locales=language,
        )

    async def complete(self, code: str, pkce_verifier: str, nonce: str) -> Person:
        signed = await redeem_code(
            self._http,
            await self._metadata(),
            self.client_id,
            self.redirect_uri,
            code,
            pkce_verifier,
        )
        try:
            claims = await self._id_tokens.claims(signed.id_token)
        except Unauthenticated as refused:
            raise SignInFailed(f"the ID token: {refused.reason}") from None
        if claims.get("nonce") != nonce:
            raise SignInFailed("the ID token answers another sign-in (nonce)")
        subject = claims.get(self._mapping.subject_claim)
        if not isinstance(subject, str) or not subject:
            raise SignInFailed(f"the ID token has no {self._mapping.subject_claim}")
        name = claims.get("name") or claims.get("email") or subject
        return Person(
            subject,
            str(name),
            self._mapping.roles(claims),
            signed.access_token,
            signed.expires_in,
        )
