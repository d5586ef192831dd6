"""Issue 20, webhooks, on the real local broker and store: an integrator's HTTP receiver is
killed in the middle of a stream of events and comes back; nothing is lost, and each
person's events arrive in the order they were published, each verified by the
integrator library (integrator/) exactly as a Kafka reader verifies them. A
receiver that keeps refusing has its deliveries dead-lettered, and a replay sends them."""

from __future__ import annotations

import asyncio
import json
import socket
from collections import defaultdict
from itertools import groupby
from typing import Any

import uvicorn

from telemachus.cli.federation import DEVELOPMENT_WEBHOOKS, Federation
from telemachus.shared.testing.kafka import eventually
from telemachus_integrator import Reader
from tests.helpers.sites import Site, enrol, known_at, publish_program

ENROLLED = "org.telemachus.identity.participant-enrolled.v2"
UPDATED = "org.telemachus.identity.profile-updated.v2"
PEOPLE, UPDATES = 4, 6
LANGUAGES = ["fr", "de", "es", "pt", "it", "nl", "sv"]


class Receiver:
    """An integrator's endpoint: a real HTTP server that can be killed and started again on
    the same port. `/hook` takes everything; `/broken` refuses until told otherwise."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.got: list[tuple[str, dict[str, str], bytes]] = []
        self.broken = True
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        refuse = scope["path"] == "/broken" and self.broken
        if not refuse:
            self.got.append((scope["path"], headers, body))
        await send({"type": "http.response.start", "status": 500 if refuse else 204})
        await send({"type": "http.response.body", "body": b""})

    async def start(self) -> None:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            lifespan="off",
            log_level="warning",
            interface="asgi3",
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            await asyncio.sleep(0.05)

    async def kill(self) -> None:
        """As a crash would: connections dropped, requests in flight unanswered."""
        assert self._server is not None and self._task is not None
        self._server.force_exit = self._server.should_exit = True
        await self._task

    def events(
        self, path: str, refs: set[str]
    ) -> list[tuple[dict[str, str], dict[str, Any], bytes]]:
        found = []
        for where, headers, body in self.got:
            data = json.loads(body)
            if where == path and data.get("participant_ref") in refs:
                found.append((headers, data, body))
        return found


async def program_and_receiver(
    sites: tuple[Site, Site, Site],
) -> tuple[Site, dict[str, Any], Receiver]:
    """A hospital's program the university partners in, and an integrator's receiver."""
    hospital, university, _ = sites
    program = await publish_program(hospital, [university.id])
    await known_at(university, program["id"])
    receiver = Receiver()
    await receiver.start()
    return university, program, receiver


async def test_a_receiver_killed_mid_stream_loses_nothing_and_gets_each_key_in_order(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    university, program, receiver = await program_and_receiver(sites)

    # Who may register, and what: refusals name the field and store nothing.
    person = await university.register()
    as_participant = await university.person(person["subject"])
    wanted = {"url": receiver.url("/hook"), "event_types": [ENROLLED, UPDATED]}
    refused = await university.call("POST", "/webhooks", as_participant, json=wanted)
    assert refused.status_code == 403
    for url in ("https://10.1.2.3/hook", "https://169.254.169.254/latest", "ftp://a.example/"):
        inside = await university.call("POST", "/webhooks", json={**wanted, "url": url})
        assert inside.status_code == 422 and inside.json()["field"] == "url", inside.text
    unknown = await university.call(
        "POST", "/webhooks", json={**wanted, "event_types": ["org.example.payroll.v1"]}
    )
    assert unknown.status_code == 422 and unknown.json()["field"] == "event_types"
    registered = await university.call("POST", "/webhooks", json=wanted)
    assert registered.status_code == 201, registered.text
    hook = registered.json()
    listed = (await university.call("GET", "/webhooks")).json()
    assert [w["url"] for w in listed if w["id"] == hook["id"]] == [wanted["url"]]

    people = [person] + [await university.register() for _ in range(PEOPLE - 1)]
    refs = {p["ref"] for p in people}
    for someone in people:
        await enrol(university, someone, program)

    tokens = {p["id"]: await university.person(p["subject"]) for p in people}

    async def update_everyone(round_: int) -> None:
        for someone in people:
            changed = await university.call(
                "PATCH",
                f"/participants/{someone['id']}",
                tokens[someone["id"]],
                # A field the person shares with the program: each change is an event.
                json={"languages": ["en", LANGUAGES[round_ % len(LANGUAGES)]]},
            )
            assert changed.status_code == 200, changed.text

    await update_everyone(1)

    async def some_arrived() -> bool:
        return len(receiver.events("/hook", refs)) >= PEOPLE

    await eventually(some_arrived)
    await receiver.kill()  # mid-stream: the rest is published while it is down
    for round_ in range(2, UPDATES + 1):
        await update_everyone(round_)

    async def failing() -> list[dict[str, Any]]:
        pending = await university.call(
            "GET", f"/webhooks/{hook['id']}/deliveries", params={"delivery_status": "pending"}
        )
        return [d for d in pending.json() if d["tries"] >= 2 and "Connect" in (d["reason"] or "")]

    assert await eventually(failing)  # tried, refused, waiting out its backoff
    await receiver.start()
    expected = PEOPLE * (1 + UPDATES)

    async def all_arrived() -> bool:
        got = {h["ce-id"] for h, _, _ in receiver.events("/hook", refs)}
        return len(got) == expected

    await eventually(all_arrived, within=90)
    # Each read by the integrator library as a receiver would: signed by the university
    # as on Kafka, checked against the same trust registry and the published schema.
    assert federation.registry_file is not None
    reader = Reader(federation.registry_file)
    by_key: dict[str, list[int | None]] = defaultdict(list)
    for headers, _, body in receiver.events("/hook", refs):
        event = reader.from_http(headers, body)
        assert event.type in (ENROLLED, UPDATED) and event.institution == university.id
        assert event.subject is not None
        by_key[event.subject].append(event.sequence)
    # In order per person; a delivery the killed receiver took but did not answer may come
    # twice, one right after the other, never after a later one.
    assert {key: [s for s, _ in groupby(seqs)] for key, seqs in by_key.items()} == {
        ref: list(range(1, UPDATES + 2)) for ref in refs
    }
    assert (await university.call("DELETE", f"/webhooks/{hook['id']}")).status_code == 204
    await receiver.kill()


async def test_a_receiver_that_keeps_refusing_is_dead_lettered_and_replayed(
    sites: tuple[Site, Site, Site],
) -> None:
    university, program, receiver = await program_and_receiver(sites)
    registered = await university.call(
        "POST", "/webhooks", json={"url": receiver.url("/broken"), "event_types": [ENROLLED]}
    )
    assert registered.status_code == 201, registered.text
    hook = registered.json()
    person = await university.register()
    await enrol(university, person, program)

    async def dead() -> list[dict[str, Any]]:
        found = await university.call(
            "GET", f"/webhooks/{hook['id']}/deliveries", params={"delivery_status": "dead"}
        )
        return [d for d in found.json() if d["key"] == person["ref"]]

    # The development federation gives up after 30 tries within half a minute (production:
    # 10, over hours).
    tries = DEVELOPMENT_WEBHOOKS["webhook_attempts"]
    [letter] = await eventually(dead, within=90)
    assert letter["tries"] == tries and letter["reason"] == "answered 500"
    assert receiver.events("/broken", {person["ref"]}) == []

    receiver.broken = False  # the integrator fixed their endpoint
    replayed = await university.call("POST", f"/webhooks/{hook['id']}/replay")
    assert replayed.status_code == 200 and replayed.json()["replayed"] >= 1

    async def arrived() -> bool:
        return len(receiver.events("/broken", {person["ref"]})) == 1

    await eventually(arrived)
    assert await dead() == []
    stopped = await university.call("DELETE", f"/webhooks/{hook['id']}")
    assert stopped.status_code == 204
    await receiver.kill()
