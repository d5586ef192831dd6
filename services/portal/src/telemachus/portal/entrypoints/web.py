"""What every page shares: who is signed in, their language, rendering with autoescape,
forms guarded against cross-site requests and double submission, and refusals shown as
words a person understands."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData

from telemachus.portal.adapters.services import ServiceRefused
from telemachus.portal.adapters.store import PortalStore
from telemachus.portal.domain.profile_form import N_, Problem
from telemachus.portal.domain.sessions import PortalSession, digest, new_secret
from telemachus.portal.domain.wording import label
from telemachus.shared.security.tokens import Role
from telemachus.shared.translations import Catalogs

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


class SignInNeeded(Exception):
    """No session, or it expired: sign in, then come back to `next_path`."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class FormRefused(Exception):
    """A form without this session's CSRF token: not sent from our page."""


@dataclass
class Page:
    """One request's view of the portal: the person, their language, how to render."""

    request: Request
    session: PortalSession | None
    language: str
    web: Web

    def _(self, message: str) -> str:
        return self.web.catalogs.translations(self.language).gettext(message)

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return self.web.render(self, template, status, context)

    def form_token(self) -> str:
        """A one-time id for a form as rendered: its second submission changes nothing."""
        return new_secret()


class Web:
    def __init__(
        self,
        store: PortalStore,
        catalogs: Catalogs,
        cookie_name: str,
        secure_cookies: bool,
        institution_name: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.catalogs = catalogs
        self.cookie_name = cookie_name
        self.secure_cookies = secure_cookies
        self.institution_name = institution_name
        self.clock = clock
        self.environment = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(default=True, default_for_string=True),
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )

    async def page(self, request: Request) -> Page:
        session = await self._session(request)
        preferred = await self.store.language(session.subject) if session else None
        language = self.catalogs.negotiate(preferred, request.headers.get("accept-language"))
        return Page(request, session, language, self)

    async def _session(self, request: Request) -> PortalSession | None:
        cookie = request.cookies.get(self.cookie_name)
        if not cookie:
            return None
        session = await self.store.session(digest(cookie))
        if session is None or session.expired(self.clock()):
            return None
        return session

    async def signed_in(self, request: Request) -> Page:
        page = await self.page(request)
        if page.session is None:
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise SignInNeeded(path if request.method == "GET" else _referring_path(request))
        return page

    async def with_role(self, request: Request, role: Role, refusal: str) -> Page:
        """Signed in and holding `role`, else 403 with `refusal` (a message id, shown in
        the person's language)."""
        page = await self.signed_in(request)
        assert page.session is not None
        if role not in page.session.roles:
            raise ServiceRefused(403, page._(refusal))
        return page

    async def coordinator(self, request: Request) -> Page:
        """Signed in as one of the institution's coordinators (every /coordinate page)."""
        return await self.with_role(
            request, Role.COORDINATOR, N_("These pages are for your institution's coordinators.")
        )

    async def form(self, page: Page) -> FormData:
        """The submitted form, once its CSRF token matched the session's."""
        form = await page.request.form()
        sent = form.get("csrf")
        session = page.session
        if (
            session is None
            or not isinstance(sent, str)
            or not hmac.compare_digest(sent, session.csrf)
        ):
            raise FormRefused()
        return form

    async def once(self, page: Page, form: FormData) -> str | None:
        """None the first time this rendered form is submitted; afterwards where the first
        submission led (or the page it came from), so a double click changes nothing twice."""
        form_id = form.get("form_id")
        assert page.session is not None
        if not isinstance(form_id, str) or not form_id:
            return None  # a form without an id is safe to repeat (e.g. the language)
        if await self.store.first_submission(form_id, page.session.id, self.clock()):
            return None
        earlier = await self.store.submission_result(form_id, page.session.id)
        return earlier or _referring_path(page.request)

    async def done(self, page: Page, form: FormData, location: str) -> RedirectResponse:
        """After a form did its work: remember where it led, and go there (POST/redirect/GET)."""
        form_id = form.get("form_id")
        if isinstance(form_id, str) and form_id and page.session is not None:
            await self.store.submission_done(form_id, page.session.id, location)
        return RedirectResponse(location, status_code=303)

    async def save_setting(
        self,
        page: Page,
        form: FormData,
        problems: Mapping[str, Any],
        again: Callable[[Mapping[str, Any]], Awaitable[Response]],
        send: Callable[[], Awaitable[object]],
        where_refused: Callable[[str | None], str],
        location: str,
    ) -> Response:
        """A settings form's last steps: its own problems shown `again`, once only, then
        `send`; a service's 422 is shown `again` beside where its field belongs."""
        if problems:
            return await again(problems)
        if (earlier := await self.once(page, form)) is not None:
            return RedirectResponse(earlier, status_code=303)
        try:
            await send()
        except ServiceRefused as refused:
            if refused.status == 422:
                return await again({where_refused(refused.field): Problem(refused.reason)})
            raise
        return await self.done(page, form, location)

    def render(
        self, page: Page, template: str, status: int, context: Mapping[str, Any]
    ) -> HTMLResponse:
        translations = self.catalogs.translations(page.language)
        body = self.environment.get_template(template).render(
            {
                "page": page,
                "session": page.session,
                "language": page.language,
                "languages": self.catalogs.languages,
                "institution_name": self.institution_name,
                "csrf": page.session.csrf if page.session else "",
                "form_token": page.form_token,
                "path": page.request.url.path,
                "_": translations.gettext,
                "gettext": translations.gettext,
                "ngettext": translations.ngettext,
                "label": lambda kind, value: translations.gettext(label(kind, value)),
                # A message with its values; a service's reason may hold a bare "%".
                "fill": lambda message, values: (
                    translations.gettext(message) % dict(values)
                    if values
                    else translations.gettext(message)
                ),
                **context,
            }
        )
        return HTMLResponse(body, status_code=status)

    def refusal(self, page: Page, refused: ServiceRefused) -> HTMLResponse:
        """A service's no, as a page: what happened and what to do, never a stack trace."""
        titles = {
            401: page._("Please sign in again"),
            403: page._("That is not open to you"),
            404: page._("Not found"),
            409: page._("That has already changed"),
            422: page._("Please check what you entered"),
            503: page._("A service is not available just now"),
        }
        status = refused.status if refused.status in titles else 400
        return page.render(
            "error.html",
            status=status,
            title=titles.get(status, page._("That could not be done")),
            reason=refused.reason,
            field=refused.field,
        )


def texts(form: FormData, name: str) -> list[str]:
    """Every text sent under `name` (a repeated field; uploads left out)."""
    return [v for v in form.getlist(name) if isinstance(v, str)]


def _referring_path(request: Request) -> str:
    """The page a form was on, if it was ours."""
    referer = request.headers.get("referer", "")
    base = str(request.base_url)
    return "/" + referer[len(base) :] if referer.startswith(base) else "/"


def sign_in_location(next_path: str) -> str:
    return f"/sign-in?{urlencode({'next': next_path})}"


def set_session_cookie(web: Web, response: Response, secret: str, max_age: int) -> None:
    response.set_cookie(
        web.cookie_name,
        secret,
        max_age=max_age,
        httponly=True,
        secure=web.secure_cookies,
        samesite="lax",
        path="/",
    )
