"""Signing in at the home institution's IdP (authorization code + PKCE), and out."""

from __future__ import annotations

import secrets
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from telemachus.portal.adapters.identity_provider import IdentityProvider
from telemachus.portal.domain.sessions import (
    PendingSignIn,
    PortalSession,
    digest,
    new_secret,
    safe_next,
)
from telemachus.portal.entrypoints.web import Web, set_session_cookie, sign_in_location
from telemachus.shared.security.oauth_client import Pkce, SignInFailed


def sign_in_router(web: Web, idp: IdentityProvider, session_max_seconds: int) -> APIRouter:
    router = APIRouter()

    @router.get("/sign-in", include_in_schema=False)
    async def sign_in(request: Request, next: str = "/") -> Response:
        page = await web.page(request)
        if page.session is not None:
            return RedirectResponse(safe_next(next), status_code=303)
        pkce, state, nonce = Pkce.fresh(), secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        await web.store.begin_sign_in(
            PendingSignIn(state, nonce, pkce.verifier, safe_next(next), web.clock())
        )
        return RedirectResponse(
            await idp.authorization_url(pkce, state, nonce, page.language), status_code=303
        )

    @router.get("/callback", include_in_schema=False)
    async def callback(
        request: Request,
        state: str = "",
        code: str | None = None,
        error: str | None = None,
        error_description: str | None = None,
    ) -> Response:
        page = await web.page(request)
        pending = await web.store.take_sign_in(state, web.clock()) if state else None
        if pending is None:
            # Unknown, used or stale state: never sign anyone in from it.
            return page.render(
                "error.html",
                status=400,
                title=page._("That sign-in link has expired"),
                reason=page._("Please start again from the sign-in button."),
                retry="/sign-in",
            )
        if error or code is None:
            return page.render(
                "error.html",
                status=401,
                title=page._("You were not signed in"),
                reason=error_description or error or "",
                retry=sign_in_location(pending.next_path),
            )
        try:
            person = await idp.complete(code, pending.pkce_verifier, pending.nonce)
        except SignInFailed as refused:
            return page.render(
                "error.html",
                status=401,
                title=page._("You were not signed in"),
                reason=str(refused),
                retry="/sign-in",
            )
        secret = new_secret()
        lifetime = min(person.expires_in or session_max_seconds, session_max_seconds)
        await web.store.save_session(
            PortalSession(
                id=digest(secret),
                subject=person.subject,
                name=person.name,
                roles=person.roles,
                access_token=person.access_token,
                expires_at=web.clock() + timedelta(seconds=lifetime),
            )
        )
        response = RedirectResponse(pending.next_path, status_code=303)
        set_session_cookie(web, response, secret, lifetime)
        return response

    @router.post("/sign-out", include_in_schema=False)
    async def sign_out(request: Request) -> Response:
        page = await web.page(request)
        if page.session is not None:
            await web.form(page)
            await web.store.end_session(page.session.id)
        response = RedirectResponse("/signed-out", status_code=303)
        response.delete_cookie(web.cookie_name, path="/")
        return response

    @router.get("/signed-out", include_in_schema=False)
    async def signed_out(request: Request) -> HTMLResponse:
        page = await web.page(request)
        return page.render("signed_out.html")

    return router
