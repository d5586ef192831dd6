"""Issue 16: people sign in at their own institution's OpenID Connect provider (a real one:
node-oidc-provider, through the authorization-code flow with PKCE) and act with what it
issues; at a partner leading their program they act with a token their home exchanged for
them (RFC 8693). On the session's federation: three institutions, each with its IdP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import date, timedelta
from typing import Any

import httpx
import jwt
import pytest

from telemachus.cli.dev_idp import COORDINATORS_GROUP, PORTAL_CLIENT, Account
from telemachus.cli.federation import Federation
from telemachus.cli.sign_in import sign_in
from telemachus.shared.testing.kafka import eventually
from tests.helpers.sites import CONSENT, Site, bearer, known_at

REDIRECT = "http://127.0.0.1/callback"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"


async def signed_in(federation: Federation, site: Site, login: str, *groups: str) -> str:
    """The person's IdP access token, after signing in at their institution's IdP."""
    idp = federation.idps[site.id]
    idp.add(Account(login, f"{login}@{site.id}.example", login.title(), groups))
    return (await sign_in(idp.issuer, PORTAL_CLIENT, REDIRECT, login)).access_token


async def exchanged(site: Site, idp_token: str, to: str, **changed: str) -> httpx.Response:
    """Token exchange at the person's home identity, for institution `to`'s services."""
    form = {
        "grant_type": EXCHANGE,
        "subject_token": idp_token,
        "subject_token_type": ACCESS_TOKEN,
        "audience": f"telemachus:{to}",
    }
    return await site.client.post(f"{site.url}/oauth/token", data={**form, **changed})


async def on_roster(site: Site, coordinator: str, login: str, **profile: Any) -> dict[str, Any]:
    """The person as their coordinator registers them: signing in as `login` at the IdP."""
    tag = secrets.token_hex(3)
    response = await site.call(
        "POST",
        "/participants",
        bearer(coordinator),
        json={
            "display_name": f"{login.title()} {tag}",
            "work_email": f"{login}@{site.id}.example",
            "subject": login,
            "languages": ["en"],
            "availability": {
                "time_zone": "Europe/London",
                "slots": [{"day": "tue", "start": "08:00", "end": "11:00"}],
            },
            **profile,
        },
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_people_sign_in_at_their_own_idp_and_accept_a_pairing_at_the_lead(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    hospital, university, centre = sites
    login = {s.id: f"u{secrets.token_hex(3)}" for s in sites}  # fresh names per run
    coordinators = {
        s.id: await signed_in(federation, s, f"coord-{login[s.id]}", COORDINATORS_GROUP)
        for s in sites
    }
    # Every institution's coordinator acts at home with their IdP's own access token.
    for site in sites:
        claims = jwt.decode(coordinators[site.id], options={"verify_signature": False})
        assert claims["iss"] == federation.idps[site.id].issuer
        listed = await site.call("GET", "/institutions", bearer(coordinators[site.id]))
        assert listed.status_code == 200, listed.text

    program = await _published_with(hospital, coordinators[hospital.id], university.id)
    await known_at(university, program["id"])
    mentor = await on_roster(
        university,
        coordinators[university.id],
        login[university.id],
        profession="nursing",
        career_stage=2,
        topics_offered=[{"topic": "e-medicine", "proficiency": 4}],
    )
    mentee = await on_roster(
        hospital,
        coordinators[hospital.id],
        login[hospital.id],
        profession="medicine",
        career_stage=4,
        topics_sought=[{"topic": "e-medicine", "priority": 5}],
    )
    people = {university.id: mentor, hospital.id: mentee}
    idp_tokens = {
        s: await signed_in(federation, site, login[s])
        for s, site in ((hospital.id, hospital), (university.id, university))
    }
    for site in (hospital, university):
        me = await site.call("GET", "/participants/me", bearer(idp_tokens[site.id]))
        assert me.status_code == 200 and me.json()["id"] == people[site.id]["id"], me.text
        enrolled = await site.call(
            "POST",
            f"/participants/{people[site.id]['id']}/enrolments",
            bearer(idp_tokens[site.id]),
            json={"program_id": program["id"], "consented_fields": CONSENT},
        )
        assert enrolled.status_code == 201, enrolled.text

    # The lead's coordinator runs a round at their own pairing service with the IdP token.
    pairing_url = federation.url(hospital.id, "pairing")
    lead = bearer(coordinators[hospital.id])
    client = hospital.client

    async def pool_of_two() -> bool:
        found = await client.get(f"{pairing_url}/programs/{program['id']}/pool", headers=lead)
        return found.status_code == 200 and len(found.json()) == 2

    await eventually(pool_of_two)
    opened = await client.post(
        f"{pairing_url}/programs/{program['id']}/rounds", headers=lead, json={}
    )
    assert opened.status_code == 201, opened.text
    computed = await client.post(
        f"{pairing_url}/rounds/{opened.json()['id']}/compute", headers=lead
    )
    published = await client.post(
        f"{pairing_url}/rounds/{opened.json()['id']}/publish", headers=lead
    )
    assert computed.status_code == 200 and published.status_code == 200, published.text
    [pairing] = published.json()["pairings"]

    # The partner's person: their home exchanges their IdP token for one the lead accepts.
    answer = await exchanged(university, idp_tokens[university.id], hospital.id)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["issued_token_type"] == ACCESS_TOKEN and body["token_type"] == "Bearer"
    assert 0 < body["expires_in"] <= 600
    carried = jwt.decode(body["access_token"], options={"verify_signature": False})
    # Only the pseudonymous ref and the role: no e-mail, no name, not the IdP's sub.
    assert carried["ref"] == carried["sub"] == mentor["ref"]
    assert carried["roles"] == ["participant"] and carried["aud"] == f"telemachus:{hospital.id}"
    assert login[university.id] not in str(carried) and "@" not in str(carried)
    # The lead's own person exchanges too: pairing knows people by ref.
    at_home = await exchanged(hospital, idp_tokens[hospital.id], hospital.id)
    assert at_home.status_code == 200, at_home.text
    for token in (body["access_token"], at_home.json()["access_token"]):
        accepted = await client.post(
            f"{pairing_url}/pairings/{pairing['id']}/responses",
            headers=bearer(token),
            json={"decision": "accept"},
        )
        assert accepted.status_code == 200, accepted.text
    status = await client.get(f"{pairing_url}/pairings/{pairing['id']}", headers=lead)
    assert status.json()["status"] == "confirmed"

    # The centre's people sign in at the centre's IdP; the centre's identity knows them.
    centre_coordinator = bearer(coordinators[centre.id])
    assert (await centre.call("GET", "/participants", centre_coordinator)).status_code == 200


async def _published_with(lead: Site, token: str, partner: str) -> dict[str, Any]:
    today = date.today()
    response = await lead.call(
        "POST",
        "/programs",
        bearer(token),
        json={
            "title": "Signed in",
            "partner_institutions": [partner],
            "topics": ["e-medicine"],
            "pairing_mode": "assigned",
            "enrolment_opens": (today - timedelta(days=1)).isoformat(),
            "enrolment_closes": (today + timedelta(days=60)).isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"subject_token_type": "urn:ietf:params:oauth:token-type:saml2"}, "invalid_request"),
        ({"audience": "telemachus:nowhere"}, "invalid_target"),
        ({"audience": "https://example.org"}, "invalid_target"),
        ({"subject_token": "not-a-token"}, "invalid_request"),
    ],
)
async def test_a_bad_exchange_request_gets_an_oauth_error_naming_the_reason(
    sites: tuple[Site, Site, Site], federation: Federation, form: dict[str, str], error: str
) -> None:
    hospital, university, _ = sites
    token = await signed_in(federation, hospital, f"c{secrets.token_hex(3)}", COORDINATORS_GROUP)
    answer = await exchanged(hospital, token, university.id, **form)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == error and answer.json()["error_description"]


async def test_no_service_trusts_another_institutions_idp_directly(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    hospital, university, _ = sites
    token = await signed_in(federation, university, f"c{secrets.token_hex(3)}", COORDINATORS_GROUP)
    # At the hospital's services, the university's IdP is unknown...
    refused = await hospital.call("GET", "/institutions", bearer(token))
    assert refused.status_code == 401, refused.text
    # ...and the hospital's identity will not exchange it either.
    answer = await exchanged(hospital, token, hospital.id)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
    # Someone signed in but on no roster and in no mapped group gets nothing.
    stranger = await signed_in(federation, hospital, f"s{secrets.token_hex(3)}")
    answer = await exchanged(hospital, stranger, university.id)
    assert answer.status_code == 400 and "no role" in answer.json()["error_description"]


async def test_a_rotated_idp_key_is_used_without_restarting_the_services(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    _, _, centre = sites
    idp = federation.idps[centre.id]
    login = f"c{secrets.token_hex(3)}"
    before = await signed_in(federation, centre, login, COORDINATORS_GROUP)
    assert (await centre.call("GET", "/institutions", bearer(before))).status_code == 200
    idp.rotate()  # new keys, same issuer; the services are not told
    after = await signed_in(federation, centre, login, COORDINATORS_GROUP)
    assert jwt.get_unverified_header(after)["kid"] != jwt.get_unverified_header(before)["kid"]

    async def accepted() -> bool:
        # At most min_refetch_seconds (10 s) after the last look at the keys.
        return (await centre.call("GET", "/institutions", bearer(after))).status_code == 200

    await eventually(accepted, within=20, every=1)
    # The provider goes away: known keys still serve; nothing crashes, nothing is accepted
    # that cannot be checked.
    idp.stop()
    try:
        assert (await centre.call("GET", "/institutions", bearer(after))).status_code == 200
        forged = jwt.encode(
            jwt.decode(after, options={"verify_signature": False}),
            "x" * 32,
            algorithm="HS256",
            headers={"kid": "unknown"},
        )
        refused = await centre.call("GET", "/institutions", bearer(forged))
        assert refused.status_code == 401, refused.text
    finally:
        idp.start()


def _forged(token: str, header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    """The token's claims under another header, signed (HMAC) with `key`, or unsigned."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = part(json.dumps(header).encode())
    body = part(json.dumps(claims).encode())
    if header["alg"] == "none":
        return f"{head}.{body}."
    signature = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{part(signature)}"


async def test_bad_idp_tokens_are_refused_with_401_and_the_reason(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    """At a service, over HTTP (shared/tests/test_oidc.py checks audience, issuer, times
    and keys one by one; another institution's IdP is refused above)."""
    _, university, _ = sites
    good = await signed_in(federation, university, f"c{secrets.token_hex(3)}", COORDINATORS_GROUP)
    header = jwt.get_unverified_header(good)
    claims = jwt.decode(good, options={"verify_signature": False})
    jwks = (await university.client.get(f"{federation.idps[university.id].issuer}/jwks")).json()
    public = json.dumps(next(k for k in jwks["keys"] if k["kid"] == header["kid"])).encode()
    cases = {
        "malformed": ("not-a-jwt", "malformed"),
        "unsigned": (_forged(good, {**header, "alg": "none"}, claims, b""), "alg 'none'"),
        "alg-confused": (_forged(good, {**header, "alg": "HS256"}, claims, public), "HS256"),
        # The IdP's own signature over other claims: it no longer checks.
        "tampered": (
            ".".join(
                [
                    *_forged(good, header, {**claims, "groups": ["x"]}, b"k").split(".")[:2],
                    good.split(".")[2],
                ]
            ),
            "token refused",
        ),
    }
    for name, (token, reason) in cases.items():
        refused = await university.call("GET", "/institutions", bearer(token))
        assert refused.status_code == 401, (name, refused.text)
        assert reason in refused.text, (name, refused.text)
