"""Every refusal as a page in the person's language: a service's no, a form not sent from
our page, an expired session (back to sign-in, then to the same page), and anything
unexpected (logged; the page says only that it failed)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from telemachus.portal.adapters.services import ServiceRefused
from telemachus.portal.entrypoints.web import FormRefused, SignInNeeded, Web, sign_in_location

log = logging.getLogger(__name__)
FALLBACK = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Something went wrong'
    "</title></head><body><main><h1>Something went wrong on our side</h1><p>It has been "
    'logged. Please try again in a moment. <a href="/">Home</a></p></main></body></html>'
)


def install_error_pages(app: FastAPI, web: Web) -> None:
    @app.exception_handler(SignInNeeded)
    async def sign_in_needed(request: Request, needed: SignInNeeded) -> Response:
        response = RedirectResponse(sign_in_location(needed.next_path), status_code=303)
        response.delete_cookie(web.cookie_name, path="/")
        return response

    @app.exception_handler(ServiceRefused)
    async def refused(request: Request, refused: ServiceRefused) -> Response:
        page = await web.page(request)
        if refused.status == 401:
            # The services no longer accept the session's token: sign in again.
            return await sign_in_needed(request, SignInNeeded(request.url.path))
        return web.refusal(page, refused)

    @app.exception_handler(FormRefused)
    async def form_refused(request: Request, _: FormRefused) -> Response:
        page = await web.page(request)
        return page.render(
            "error.html",
            status=403,
            title=page._("This form has expired"),
            reason=page._("Please go back, reload the page and send it again."),
        )

    @app.exception_handler(RequestValidationError)
    async def malformed(request: Request, error: RequestValidationError) -> Response:
        page = await web.page(request)
        return page.render(
            "error.html",
            status=422,
            title=page._("Please check what you entered"),
            reason="; ".join(str(e.get("msg")) for e in error.errors()[:3]),
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        page = await web.page(request)
        titles = {404: page._("Not found"), 405: page._("That could not be done")}
        return page.render(
            "error.html",
            status=error.status_code,
            title=titles.get(error.status_code, page._("That could not be done")),
            reason="",
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("portal page failed: %s %s", request.method, request.url.path)
        try:
            page = await web.page(request)
            return page.render(
                "error.html",
                status=500,
                title=page._("Something went wrong on our side"),
                reason=page._("It has been logged. Please try again in a moment."),
            )
        except Exception:  # the store itself may be what failed: still no stack trace
            log.exception("the error page failed too")
            return HTMLResponse(FALLBACK, status_code=500)
