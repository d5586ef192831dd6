"""A person signed in at the portal: who they are, what they may do, until when."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from telemachus.shared.security.tokens import Role


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """Sessions are stored under the hash of the cookie's value: a copy of the store
    opens no one's session."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


@dataclass
class PortalSession:
    id: str  # digest of the cookie value
    subject: str
    name: str
    roles: frozenset[Role]
    access_token: str  # the home IdP's, for the home institution's services
    expires_at: datetime
    csrf: str = field(default_factory=new_secret)
    # Tokens exchanged at home for other members' services: institution -> (token, until).
    exchanged: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    @property
    def coordinator(self) -> bool:
        return Role.COORDINATOR in self.roles

    @property
    def safeguarding(self) -> bool:
        return Role.SAFEGUARDING in self.roles

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def exchanged_token(self, institution: str, now: datetime) -> str | None:
        found = self.exchanged.get(institution)
        # A minute's margin: a page's calls should not outlive the token they started with.
        if found is None or found[1] - timedelta(seconds=60) <= now:
            return None
        return found[0]


@dataclass(frozen=True)
class PendingSignIn:
    """Between sending the browser to the IdP and its return with a code."""

    state: str
    nonce: str
    pkce_verifier: str
    next_path: str
    created_at: datetime


def safe_next(path: str | None) -> str:
    """Only a path on this portal: never an open redirect to another site."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path
