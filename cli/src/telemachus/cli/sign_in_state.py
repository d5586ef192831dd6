"""What `telemachus up` tells `telemachus login`: each institution's IdP and identity service
(a JSON file, since the development IdPs and services take free ports), and the people it
seeded so a newcomer can sign in at once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from telemachus.cli.dev_idp import (
    COORDINATORS_GROUP,
    OPERATORS_GROUP,
    PORTAL_CLIENT,
    REDIRECT_URI,
    Account,
)
from telemachus.cli.sign_in import exchange, sign_in

if TYPE_CHECKING:  # `login` reads the state without importing every service
    from telemachus.cli.federation import Federation

COORDINATOR_LOGIN = "coordinator"
# Seeded at every institution: a coordinator (also operator) and two people on the roster.
PEOPLE = (("ada", "Ada Okafor", "nursing", 2), ("ben", "Ben Marsh", "medicine", 4))


@dataclass(frozen=True)
class Home:
    institution: str
    identity_url: str
    oidc_issuer: str


def write_state(path: Path, federation: Federation) -> None:
    homes = {
        i.id: {
            "name": i.name,
            "identity_url": federation.url(i.id, "identity"),
            "oidc_issuer": federation.idps[i.id].issuer,
        }
        for i in federation.institutions
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"institutions": homes}, indent=2))


def read_home(path: Path, institution: str) -> Home:
    if not path.exists():
        raise LookupError(f"no {path}: run `telemachus up` first, or pass the --state it printed")
    homes = json.loads(path.read_text())["institutions"]
    if institution not in homes:
        raise LookupError(f"{institution} is not in {path} (known: {', '.join(homes)})")
    home = homes[institution]
    return Home(institution, home["identity_url"], home["oidc_issuer"])


async def seed_people(federation: Federation) -> dict[str, list[str]]:
    """Logins per institution: its coordinator, and people its coordinator registered."""
    seeded: dict[str, list[str]] = {}
    async with httpx.AsyncClient(timeout=30) as http:
        for institution in federation.institutions:
            idp = federation.idps[institution.id]
            domain = f"{institution.id}.example"
            idp.add(
                Account(
                    COORDINATOR_LOGIN,
                    f"coordinator@{domain}",
                    "Programme Coordinator",
                    (COORDINATORS_GROUP, OPERATORS_GROUP),
                ),
                *(Account(login, f"{login}@{domain}", name) for login, name, _, _ in PEOPLE),
            )
            signed = await sign_in(idp.issuer, PORTAL_CLIENT, REDIRECT_URI, COORDINATOR_LOGIN)
            identity = federation.url(institution.id, "identity")
            for login, name, profession, stage in PEOPLE:
                response = await http.post(
                    f"{identity}/participants",
                    headers={"Authorization": f"Bearer {signed.access_token}"},
                    json={
                        "display_name": name,
                        "work_email": f"{login}@{domain}",
                        "subject": login,
                        "profession": profession,
                        "career_stage": stage,
                        "languages": ["en"],
                    },
                )
                if response.status_code not in (201, 409):  # 409: seeded by an earlier run
                    raise RuntimeError(f"seeding {login}: {response.status_code} {response.text}")
            seeded[institution.id] = [COORDINATOR_LOGIN, *(p[0] for p in PEOPLE)]
    return seeded


async def login_token(home: Home, login: str, password: str, audience: str | None) -> str:
    """Sign in at the home's IdP; for `audience`, exchange at the home's identity."""
    signed = await sign_in(home.oidc_issuer, PORTAL_CLIENT, REDIRECT_URI, login, password)
    if audience is None:
        return signed.access_token
    return await exchange(home.identity_url, signed.access_token, audience)
