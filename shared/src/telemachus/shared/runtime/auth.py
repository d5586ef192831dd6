"""Bearer-token authentication for HTTP APIs: a FastAPI dependency giving the Principal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import jwt
from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from telemachus.shared.errors import Unauthenticated
from telemachus.shared.security.oidc import OidcVerifier
from telemachus.shared.security.tokens import Principal, TokenVerifier

_bearer = HTTPBearer(
    auto_error=False,
    description="An access token of this institution's OpenID Connect provider, or one its "
    "identity service issued by token exchange (a partner's people), audience "
    "telemachus:<institution>",
)


class BearerVerifier:
    """The institution's own IdP's tokens, and tokens of any member's identity service."""

    def __init__(self, exchanged: TokenVerifier, own_idp: OidcVerifier | None) -> None:
        self._exchanged = exchanged
        self._own_idp = own_idp

    @property
    def own_idp(self) -> OidcVerifier | None:
        return self._own_idp

    async def verify(self, token: str) -> Principal:
        if self._own_idp is not None:
            try:
                issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
            except jwt.InvalidTokenError as error:
                raise Unauthenticated(f"malformed token: {error}") from None
            if issuer == self._own_idp.issuer:
                return await self._own_idp.verify(token)
        return self._exchanged.verify(token)


def principal_dependency(
    verifier: BearerVerifier,
) -> Callable[[HTTPAuthorizationCredentials | None], Awaitable[Principal]]:
    async def principal(
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ) -> Principal:
        if credentials is None:
            raise Unauthenticated("an Authorization: Bearer <token> header is required")
        return await verifier.verify(credentials.credentials)

    return principal
