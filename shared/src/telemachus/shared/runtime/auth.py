"""Bearer-token authentication for HTTP APIs: a FastAPI dependency giving the Principal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from telemachus.shared.errors import Unauthenticated
from telemachus.shared.security.tokens import Principal, TokenVerifier

_bearer = HTTPBearer(
    auto_error=False,
    description="A JWT from an issuer in the trust registry, audience telemachus:<institution>",
)


def principal_dependency(
    verifier: TokenVerifier,
) -> Callable[[HTTPAuthorizationCredentials | None], Awaitable[Principal]]:
    async def principal(
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ) -> Principal:
        if credentials is None:
            raise Unauthenticated("an Authorization: Bearer <token> header is required")
        return verifier.verify(credentials.credentials)

    return principal
