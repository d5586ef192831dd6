"""Who calls identity, as FastAPI dependencies shared by its routers: its own institution's
people and staff only, a coordinator, or the participant the token signs in as."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Depends

from telemachus.identity.domain.participants import Participant
from telemachus.identity.service_layer import access
from telemachus.identity.service_layer.views import IdentityViews
from telemachus.shared.errors import found
from telemachus.shared.security.tokens import Principal, Role


@dataclass(frozen=True)
class Callers:
    principal: Callable[..., Awaitable[Principal]]
    coordinator: Callable[..., Awaitable[Principal]]
    signed_in: Callable[..., Awaitable[Participant]]


def callers(
    institution: str,
    authenticate: Callable[..., Awaitable[Principal]],
    views: IdentityViews,
) -> Callers:
    async def principal(who: Principal = Depends(authenticate)) -> Principal:
        access.require_home(who, institution)
        return who

    async def coordinator(who: Principal = Depends(principal)) -> Principal:
        access.require_role(who, Role.COORDINATOR)
        return who

    async def signed_in(who: Principal = Depends(principal)) -> Participant:
        access.require_role(who, Role.PARTICIPANT)
        return found(
            await views.participant_signed_in_as(who.subject),
            f"participant signed in as {who.subject}",
            field="sub",
        )

    return Callers(principal, coordinator, signed_in)
