"""Signing in at an institution's OpenID Connect provider: the authorization-code flow
with PKCE (RFC 7636), as a public client (the portal, the CLI).

The provider's own pages are filled in the way a person would: the login form with the
person's login and password, then the consent form. That only works against pages that
are simple HTML forms, as the development IdP's are; a real IdP's sign-in happens in the
person's browser (the portal's job).
"""

from __future__ import annotations

import secrets
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from telemachus.shared.security.oauth_client import (
    SCOPE,
    Pkce,
    SignedIn,
    SignInFailed,
    authorization_url,
    discover,
    exchange_token,
    redeem_code,
)

__all__ = ["SignInFailed", "SignedIn", "exchange", "sign_in"]


class _FirstForm(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._inside = False
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "form" and not self._done and self.action is None:
            self.action, self._inside = attributes.get("action", ""), True
        elif tag == "input" and self._inside and attributes.get("name"):
            self.fields[attributes["name"]] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._inside:
            self._inside, self._done = False, True


async def sign_in(
    issuer: str,
    client_id: str,
    redirect_uri: str,
    login: str,
    password: str = "development",
    *,
    scope: str = SCOPE,
) -> SignedIn:
    async with httpx.AsyncClient(timeout=10, follow_redirects=False) as http:
        discovery = await discover(http, issuer)
        pkce, state = Pkce.fresh(), secrets.token_urlsafe(16)
        nonce = secrets.token_urlsafe(16)
        url = authorization_url(discovery, client_id, redirect_uri, pkce, state, nonce, scope=scope)
        response = await http.get(url)
        code = await _follow_to_code(http, response, redirect_uri, state, login, password)
        return await redeem_code(http, discovery, client_id, redirect_uri, code, pkce.verifier)


async def _follow_to_code(
    http: httpx.AsyncClient,
    response: httpx.Response,
    redirect_uri: str,
    state: str,
    login: str,
    password: str,
) -> str:
    """Redirects are followed and forms submitted until the provider sends the browser back
    to `redirect_uri` with the code."""
    for _ in range(20):
        if response.is_redirect:
            target = urljoin(str(response.url), response.headers["location"])
            if target.startswith(redirect_uri):
                answer = parse_qs(urlsplit(target).query)
                if "error" in answer:
                    raise SignInFailed(
                        f"{answer['error'][0]}: {answer.get('error_description', [''])[0]}"
                    )
                if answer.get("state") != [state]:
                    raise SignInFailed("the state came back changed")
                return answer["code"][0]
            response = await http.get(target)
            continue
        form = _FirstForm()
        form.feed(response.text)
        if response.status_code != 200 or form.action is None:
            raise SignInFailed(f"{response.status_code} at {response.url}: {response.text[:300]}")
        fields = dict(form.fields)
        if "login" in fields:
            fields.update(login=login, password=password)
        response = await http.post(urljoin(str(response.url), form.action), data=fields)
    raise SignInFailed("the provider kept the browser going round")


async def exchange(identity_url: str, subject_token: str, audience: str) -> str:
    """A token for institution `audience`'s services, exchanged at the home identity."""
    async with httpx.AsyncClient(timeout=30) as http:
        return (await exchange_token(http, identity_url, subject_token, audience)).access_token
