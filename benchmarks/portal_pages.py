"""Portal benchmark: each page's server time and transfer size with 1,000 enrolled people
and 500 relationships, beside the service call the page makes that is expected to be the
slowest (same run, same servers, same client): the ratio bounds the portal's own cost
(rendering, the other calls, the token exchange).

Seeding (not measured): 500 junior mentors and 500 senior mentees are imported by CSV,
enrolled through identity's use case (as their consent would), paired by one round of the
lead's pairing service, and both sides accept over HTTP with tokens of the institution's
issuer (what the token exchange hands out); the sessions service opens 500 relationships
from the events.

Measured: a coordinator and a mentor, signed in at the portal through the development IdP,
GET each page `--requests` times one after another; the time is the client's, on loopback
(server time plus a loopback round trip). Transfer: the HTML, and the one stylesheet every
page shares (cached after the first page).

usage: python benchmarks/portal_pages.py [--people 1000] [--requests 40]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import time
from collections.abc import Awaitable, Callable
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import httpx
from one_institution import one_institution  # a sibling module: run as a script
from summary import Figure, report

from telemachus.cli.dev_idp import COORDINATORS_GROUP, Account
from telemachus.cli.federation import Federation
from telemachus.identity.domain.commands import EnrolParticipant
from telemachus.shared.security.tokens import Role

CONSENT = ["career_stage", "topics_offered", "topics_sought", "availability", "languages"]


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = found.get("action", "")
        elif tag == "input" and found.get("name"):
            self.fields.setdefault(found["name"], found.get("value", ""))


async def portal_client(portal: str, login: str) -> httpx.AsyncClient:
    """A client holding a portal session: through /sign-in and the IdP's forms."""
    client = httpx.AsyncClient(timeout=60)
    response = await client.get(f"{portal}/sign-in")
    for _ in range(20):
        if response.is_redirect:
            response = await client.get(urljoin(str(response.url), response.headers["location"]))
            continue
        if str(response.url).startswith(portal):
            return client
        form = _Form()
        form.feed(response.text)
        fields = {
            **form.fields,
            **({"login": login, "password": "x"} if "login" in form.fields else {}),
        }
        response = await client.post(urljoin(str(response.url), form.action or ""), data=fields)
    raise RuntimeError(f"could not sign in as {login}")


TOPICS = [
    "e-medicine",
    "apps",
    "literature-searching",
    "electronic-health-records",
    "genetic-analysis",
]
DAYS = ["mon", "tue", "wed", "thu", "fri"]


def roster_csv(people: int) -> str:
    """Half junior mentors, half senior mentees, in 25 groups by topic and weekday: each
    senior's candidates are the juniors of their group (identical profiles would all rank
    the same few mentors first, which no real roster does)."""
    lines = [
        "display_name,work_email,subject,profession,career_stage,topics_offered,"
        "topics_sought,languages,time_zone,availability"
    ]
    for i in range(people):
        junior, group = i % 2 == 0, (i // 2) % 25
        topic, day = TOPICS[group % 5], DAYS[group // 5]
        lines.append(
            f"Person {i},p{i}@bench.example,p{i},{'nursing' if junior else 'medicine'},"
            f"{2 if junior else 4},{f'{topic}:{3 + i % 3}' if junior else ''},"
            f"{'' if junior else f'{topic}:{1 + i % 5}'},en,Europe/London,{day} 09:00-12:00"
        )
    return "\n".join(lines) + "\n"


async def roster_and_program(
    http: httpx.AsyncClient, identity: str, auth: dict[str, str], people: int, title: str
) -> dict[str, Any]:
    """Imports `roster_csv(people)` at identity and publishes a program open to them."""
    imported = await http.post(
        f"{identity}/participants/import",
        content=roster_csv(people).encode(),
        headers={**auth, "Content-Type": "text/csv"},
    )
    imported.raise_for_status()
    program = await http.post(
        f"{identity}/programs",
        headers=auth,
        json={
            "title": title,
            "topics": TOPICS,
            "enrolment_opens": time.strftime("%Y-%m-%d"),
            "enrolment_closes": "2099-01-01",
        },
    )
    program.raise_for_status()
    return dict(program.json())


async def participants(
    http: httpx.AsyncClient, identity: str, auth: dict[str, str]
) -> list[dict[str, Any]]:
    """Everyone identity lists, every page."""
    listed: list[dict[str, Any]] = []
    url: str | None = f"{identity}/participants?limit=1000"
    while url:
        page = await http.get(url, headers=auth)
        page.raise_for_status()
        listed += page.json()
        url = page.links.get("next", {}).get("url")
    return listed


async def enrol_everyone(
    f: Federation, inst: str, program_id: str, people: list[dict[str, Any]]
) -> None:
    """Seeding: each person enrolled through identity's message bus, not its API."""
    bus = f.services[(inst, "identity")].app.state.bus
    gate = asyncio.Semaphore(8)

    async def enrol(person: dict[str, Any]) -> None:
        async with gate:
            await bus.handle(
                EnrolParticipant(
                    participant_id=person["id"], program_id=program_id, consented_fields=CONSENT
                )
            )

    await asyncio.gather(*(enrol(p) for p in people))


async def until(what: str, probe: Callable[[], Awaitable[bool]], within: float = 900) -> None:
    started = time.monotonic()
    while not await probe():
        if time.monotonic() - started > within:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(1)
    print(f"  {what} ({time.monotonic() - started:.0f} s)")


async def total(client: httpx.AsyncClient, url: str, token: str) -> int:
    answer = await client.get(
        url, params={"limit": 1}, headers={"Authorization": f"Bearer {token}"}
    )
    return int(answer.headers.get("X-Total-Count", 0)) if answer.status_code == 200 else 0


async def seed(f: Federation, inst: str, people: int) -> dict[str, Any]:
    f.idps[inst].add(
        Account("bench-coordinator", "c@bench.example", "Bench Coordinator", (COORDINATORS_GROUP,)),
        *(Account(f"p{i}", f"p{i}@bench.example", f"Person {i}") for i in range(people)),
    )
    token = await f.sign_in(inst, "bench-coordinator", COORDINATORS_GROUP)
    auth = {"Authorization": f"Bearer {token}"}
    identity, pairing = f.url(inst, "identity"), f.url(inst, "pairing")
    sessions = f.url(inst, "sessions")
    async with httpx.AsyncClient(timeout=300) as http:
        program = await roster_and_program(http, identity, auth, people, "Portal benchmark")
        listed = (
            await http.get(f"{identity}/participants", params={"limit": 1000}, headers=auth)
        ).json()
        await enrol_everyone(f, inst, program["id"], listed)
        gate = asyncio.Semaphore(8)
        pool = f"{pairing}/programs/{program['id']}/pool"
        await until(f"{people} people in the pool", lambda: _at_least(http, pool, token, people))
        opened = (
            await http.post(f"{pairing}/programs/{program['id']}/rounds", headers=auth, json={})
        ).json()
        await http.post(f"{pairing}/rounds/{opened['id']}/compute", headers=auth)
        published = (
            await http.post(f"{pairing}/rounds/{opened['id']}/publish", headers=auth)
        ).json()
        pairings = published["pairings"]
        refs = {p["ref"]: p["subject"] for p in listed}

        async def accept(pairing_id: str, ref: str) -> None:
            mint = f.token(inst, refs[ref], Role.PARTICIPANT, ref=ref)
            async with gate:
                await http.post(
                    f"{pairing}/pairings/{pairing_id}/responses",
                    headers={"Authorization": f"Bearer {mint}"},
                    json={"decision": "accept"},
                )

        await asyncio.gather(
            *(accept(p["id"], r) for p in pairings for r in (p["mentor_ref"], p["mentee_ref"]))
        )
        relationships = f"{sessions}/programs/{program['id']}/relationships"
        await until(
            f"{len(pairings)} relationships",
            lambda: _at_least(http, relationships, token, len(pairings)),
        )
        mentor = next(p for p in listed if p["ref"] == pairings[0]["mentor_ref"])
        as_mentor = f.token(inst, mentor["subject"], Role.PARTICIPANT, ref=mentor["ref"])
        mine = await http.get(
            f"{sessions}/relationships/me", headers={"Authorization": f"Bearer {as_mentor}"}
        )
        rel = mine.json()[0]
    return {
        "program": program["id"],
        "round": opened["id"],
        "pairing": pairings[0]["id"],
        "relationship": rel["id"],
        "mentor": mentor,
        "token": token,
        "pairings": len(pairings),
    }


async def _at_least(http: httpx.AsyncClient, url: str, token: str, count: int) -> bool:
    return await total(http, url, token) >= count


async def timed(
    call: Callable[[], Awaitable[httpx.Response]], requests: int
) -> tuple[list[float], int]:
    for _ in range(3):  # warm-up
        await call()
    times, size = [], 0
    for _ in range(requests):
        started = time.perf_counter()
        answer = await call()
        times.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            where = answer.headers.get("location", "")
            raise RuntimeError(
                f"{answer.request.url} -> {answer.status_code} {where}: {answer.text[:200]}"
            )
        size = len(answer.content)
    return times, size


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


async def main(people: int, requests: int) -> None:
    async with one_institution(identity_providers=True) as (f, inst, _):
        print(f"seeding {people} enrolled people and {people // 2} relationships")
        seeded = await seed(f, inst, people)
        print(f"  {seeded['pairings']} relationships")
        portal = f.portal_url(inst)
        coordinator = await portal_client(portal, "bench-coordinator")
        mentor = await portal_client(portal, seeded["mentor"]["subject"])
        lead = f"/at/{inst}"
        pid = seeded["program"]
        auth = {"Authorization": f"Bearer {seeded['token']}"}
        mentor_token = f.token(
            inst, seeded["mentor"]["subject"], Role.PARTICIPANT, ref=seeded["mentor"]["ref"]
        )
        api = httpx.AsyncClient(timeout=60)
        pages: list[tuple[str, httpx.AsyncClient, str, str, dict[str, str]]] = [
            (
                "mentor: home",
                mentor,
                "/",
                f"{f.url(inst, 'pairing')}/pairings/me",
                {"Authorization": f"Bearer {mentor_token}"},
            ),
            (
                "mentor: profile",
                mentor,
                "/profile",
                f"{f.url(inst, 'identity')}/participants/me",
                {"Authorization": f"Bearer {await f.sign_in(inst, seeded['mentor']['subject'])}"},
            ),
            (
                "mentor: proposal",
                mentor,
                f"{lead}/proposals/{seeded['pairing']}",
                f"{f.url(inst, 'pairing')}/pairings/{seeded['pairing']}",
                {"Authorization": f"Bearer {mentor_token}"},
            ),
            (
                "mentor: relationship",
                mentor,
                f"{lead}/relationships/{seeded['relationship']}",
                f"{f.url(inst, 'sessions')}/relationships/{seeded['relationship']}",
                {"Authorization": f"Bearer {mentor_token}"},
            ),
            (
                "coordinator: programs",
                coordinator,
                "/coordinate",
                f"{f.url(inst, 'identity')}/programs",
                auth,
            ),
            (
                "coordinator: program",
                coordinator,
                f"/coordinate/programs/{pid}",
                f"{f.url(inst, 'sessions')}/programs/{pid}/relationships?limit=1000",
                auth,
            ),
            (
                "coordinator: evaluation",
                coordinator,
                f"/coordinate/programs/{pid}/evaluation",
                f"{f.url(inst, 'feedback')}/programs/{pid}/report",
                auth,
            ),
            (
                "coordinator: round",
                coordinator,
                f"/coordinate{lead}/rounds/{seeded['round']}",
                f"{f.url(inst, 'pairing')}/rounds/{seeded['round']}",
                auth,
            ),
        ]
        css = await mentor.get(f"{portal}/static/portal.css")
        print(
            f"\n{people} enrolled, {seeded['pairings']} relationships; "
            f"{requests} requests a page, one at a time"
        )
        print(
            f"stylesheet (every page, cached after the first): {len(css.content) / 1024:.1f} KiB\n"
        )
        print(
            f"{'page':24} {'p50 ms':>8} {'p95 ms':>8} {'HTML KiB':>9}   "
            f"{'a service call it makes':40} {'p95 ms':>8} {'ratio':>6}"
        )
        figures: list[Figure] = []
        for name, client, path, baseline_url, headers in pages:
            page_times, size = await timed(functools.partial(client.get, portal + path), requests)
            api_times, _ = await timed(
                functools.partial(api.get, baseline_url, headers=headers), requests
            )
            short = baseline_url.split("//", 1)[1].split("/", 1)[1][:40]
            ratio = p95(page_times) / p95(api_times)
            figures.append(
                Figure(
                    "portal pages",
                    f"{name} p95",
                    p95(page_times),
                    "ms",
                    1 / ratio,
                    "a service call it makes, p95",
                )
            )
            print(
                f"{name:24} {statistics.median(page_times):8.1f} {p95(page_times):8.1f} "
                f"{size / 1024:9.1f}   /{short:39} {p95(api_times):8.1f} {ratio:5.1f}x"
            )
        for client in (coordinator, mentor, api):
            await client.aclose()
        report(*figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(main(args.people, args.requests))
