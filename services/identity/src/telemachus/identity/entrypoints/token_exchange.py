"""OAuth 2.0 Token Exchange (RFC 8693): a person signed in at their home institution's IdP
gets a short-lived token for one member of the federation (their home's other services, or
a partner leading a program they take part in).

The partner never has to trust the home's IdP: the token is signed with the home's token
key, which the trust registry publishes, and carries only what the partner needs — the
person's pseudonymous `ref` (participants) and their roles there. No name, no e-mail, not
the IdP's `sub`. Errors follow RFC 6749 section 5.2 (`error`, `error_description`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from telemachus.identity.domain.participants import Participant
from telemachus.shared.errors import Unauthenticated
from telemachus.shared.security.oidc import OidcVerifier
from telemachus.shared.security.pseudonyms import keyed_code
from telemachus.shared.security.registry import TrustRegistry
from telemachus.shared.security.tokens import Role, TokenIssuer, audience_of

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
SUBJECT_TOKEN_TYPES = frozenset({ACCESS_TOKEN, "urn:ietf:params:oauth:token-type:jwt"})
LIFETIME = timedelta(minutes=10)
# Roles that mean something at another institution; the rest stay at home.
# A safeguarding contact acts at the lead on the concerns of their own institution's people.
CARRIED_ABROAD = frozenset({Role.PARTICIPANT, Role.COORDINATOR, Role.SAFEGUARDING})
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class ExchangedToken(BaseModel):
    access_token: str
    issued_token_type: str = ACCESS_TOKEN
    token_type: str = "Bearer"
    expires_in: int


class OAuthError(BaseModel):
    error: str
    error_description: str


def _refuse(error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=400, headers=NO_STORE
    )


def token_exchange_router(
    institution: str,
    trust: TrustRegistry,
    own_idp: OidcVerifier,
    issuer: TokenIssuer,
    pseudonym_key: bytes,
    signed_in_as: Callable[[str], Awaitable[Participant | None]],
) -> APIRouter:
    router = APIRouter(tags=["sign-in"])

    @router.post(
        "/oauth/token",
        response_model=ExchangedToken,
        responses={400: {"model": OAuthError, "description": "RFC 6749 section 5.2"}},
        summary="Exchange a token of this institution's IdP for one member's services",
    )
    async def exchange(
        grant_type: Annotated[str, Form()],
        subject_token: Annotated[str, Form()],
        subject_token_type: Annotated[str, Form()],
        audience: Annotated[str | None, Form()] = None,
        resource: Annotated[str | None, Form()] = None,
    ) -> JSONResponse:
        if grant_type != GRANT_TYPE:
            return _refuse("unsupported_grant_type", f"grant_type must be {GRANT_TYPE}")
        if subject_token_type not in SUBJECT_TOKEN_TYPES:
            return _refuse(
                "invalid_request",
                f"subject_token_type must be one of {', '.join(sorted(SUBJECT_TOKEN_TYPES))}",
            )
        target = audience or resource or audience_of(institution)
        member = target.removeprefix("telemachus:")
        if target != audience_of(member) or trust.get(member) is None:
            return _refuse("invalid_target", f"{target} is not a member of this federation")
        try:
            signed_in = await own_idp.verify(subject_token)
        except Unauthenticated as refused:
            return _refuse("invalid_request", f"subject_token: {refused.reason}")
        person = await signed_in_as(signed_in.subject)
        roles = set(signed_in.roles)
        if person is None or person.active is False:
            # Signed in, but not on this roster (or erased, or left: HR deactivated them).
            roles.discard(Role.PARTICIPANT)
        if member != institution:
            roles &= CARRIED_ABROAD
        if not roles:
            return _refuse(
                "invalid_request",
                f"{signed_in.subject} has no role that {target} accepts (not on the roster "
                "and in no mapped group)",
            )
        # Anyone on the roster carries their ref, whatever their role: it opens their own
        # records only with the participant role (`acting_party`), and it is how a service
        # keeps a coordinator out of a concern about them or reported by their own staff.
        ref = person.ref if person is not None else None
        # Who it is, for the target's logs: the pseudonymous ref, or for staff a keyed code
        # of their IdP subject (stable, and no e-mail or IdP id leaves home).
        subject = (ref if Role.PARTICIPANT in roles else None) or (
            f"{institution}:staff-{keyed_code(pseudonym_key, 'sub', signed_in.subject)}"
        )
        token = issuer.mint(subject, sorted(roles), target, LIFETIME, participant_ref=ref)
        body = ExchangedToken(access_token=token, expires_in=int(LIFETIME.total_seconds()))
        return JSONResponse(body.model_dump(), headers=NO_STORE)

    return router
