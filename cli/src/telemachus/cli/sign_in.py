"""Signing in at an institution's OpenID Connect provider: the authorization-code flow
with PKCE (RFC 7636), as a public client (the portal, the CLI).

The provider's own pages are filled in the way a person would: the login form with the
person's login and password, then the consent form. That only works against pages that
are simple HTML forms, as the development IdP's are; a real IdP's sign-in happens in the
person's browser (the portal's job).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx

SCOPE = "openid email profile groups"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"


class SignInFailed(RuntimeError):
    """The provider refused, or answered with something this client cannot follow."""


@dataclass(frozen=True)
class SignedIn:
    id_token: str
    access_token: str
    expires_in: int
    refresh_token: str | None = None


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def fresh(cls) -> Pkce:
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"))


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
        discovery = (await http.get(f"{issuer}/.well-known/openid-configuration")).json()
        if discovery.get("issuer") != issuer:
            raise SignInFailed(f"the provider at {issuer} names itself {discovery.get('issuer')}")
        pkce, state = Pkce.fresh(), secrets.token_urlsafe(16)
        query = urlencode(
            {
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": scope,
                "code_challenge": pkce.challenge,
                "code_challenge_method": "S256",
                "state": state,
                "nonce": secrets.token_urlsafe(16),
            }
        )
        response = await http.get(f"{discovery['authorization_endpoint']}?{query}")
        code = await _follow_to_code(http, response, redirect_uri, state, login, password)
        tokens = await http.post(
            discovery["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "client_id": client_id,
                "code_verifier": pkce.verifier,
            },
        )
        if tokens.status_code != 200:
            raise SignInFailed(f"token endpoint: {tokens.status_code} {tokens.text[:300]}")
        body = tokens.json()
        return SignedIn(
            id_token=body["id_token"],
            access_token=body["access_token"],
            expires_in=int(body.get("expires_in", 0)),
            refresh_token=body.get("refresh_token"),
        )


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
    """A token for institution `audience`'s services, from the home identity service's
    token exchange (RFC 8693), for the person the IdP's `subject_token` names."""
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.post(
            f"{identity_url}/oauth/token",
            data={
                "grant_type": TOKEN_EXCHANGE,
                "subject_token": subject_token,
                "subject_token_type": ACCESS_TOKEN,
                "audience": f"telemachus:{audience}",
            },
        )
    if answer.status_code != 200:
        body = answer.json()
        raise SignInFailed(f"{body.get('error')}: {body.get('error_description')}")
    return str(answer.json()["access_token"])
