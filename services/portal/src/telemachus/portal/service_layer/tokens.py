"""Which token a call carries: the home IdP's for the home institution's services; for
another member's (a program's lead), and for acting as a participant anywhere, one
exchanged at home (RFC 8693) and kept in the session while it lasts. The portal never
mints a token itself."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from telemachus.portal.adapters.services import ServiceRefused, Services
from telemachus.portal.adapters.store import PortalStore
from telemachus.portal.domain.sessions import PortalSession
from telemachus.shared.security.oauth_client import SignInFailed, exchange_token


class Tokens:
    def __init__(
        self,
        institution: str,
        services: Services,
        store: PortalStore,
        http: httpx.AsyncClient,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.institution = institution
        self._services = services
        self._store = store
        self._http = http
        self._clock = clock

    async def for_institution(
        self, session: PortalSession, institution: str, *, vouched: bool = False
    ) -> str:
        """`vouched`: the token must say who the person is on the home roster (their
        pseudonymous `ref`, which only the exchange adds, at home too): to act on their own
        relationships, or to show that a concern is not about them."""
        if institution == self.institution and not vouched:
            return session.access_token
        now = self._clock()
        kept = session.exchanged_token(institution, now)
        if kept is not None:
            return kept
        try:
            exchanged = await exchange_token(
                self._http,
                self._services.url(self.institution, "identity"),
                session.access_token,
                institution,
            )
        except SignInFailed as refused:
            raise ServiceRefused(403, str(refused)) from None
        except httpx.HTTPError:
            raise ServiceRefused(
                503, "your institution's sign-in service cannot be reached"
            ) from None
        until = min(now + timedelta(seconds=exchanged.expires_in), session.expires_at)
        session.exchanged[institution] = (exchanged.access_token, until)
        await self._store.remember_exchange(session.id, institution, exchanged.access_token, until)
        return exchanged.access_token


class OnBehalf:
    """Calls to the services for the signed-in person: the base of what participants and
    coordinators do at the portal."""

    def __init__(self, institution: str, services: Services, tokens: Tokens) -> None:
        self.institution = institution
        self.services = services
        self.tokens = tokens

    async def _home(self, session: PortalSession) -> str:
        return await self.tokens.for_institution(session, self.institution)
