"""Issue 15, faults 3 and 4: the local broker keeps everything in memory, so a restart
loses every topic, record and committed offset. Services must say they cannot progress
while it is gone, tell the outage once per interval rather than per retry, and when it is
back recover by themselves: create their topics again, join their groups afresh, publish
again from their outboxes what it lost. Nothing acknowledged is lost: every enrolment
reaches the lead's pool once, and every institution's topic holds again every event it
had published, and every one acknowledged since.

A federation of two institutions on a Tansu of the test's own, which it stops and starts
on the same port; the store is the session's."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from telemachus.cli.federation import Federation
from telemachus.shared.contracts.topics import event_topic
from telemachus.shared.testing.backends import Backend
from telemachus.shared.testing.kafka import eventually, headers_of, read_topic
from tests.conftest import running_federation
from tests.helpers.lead_api import LeadApi
from tests.helpers.restartable import RestartableBroker
from tests.helpers.sites import Site, enrol, known_at, publish_program

ENROLLED = "participant-enrolled"


@pytest.fixture
def broker() -> Iterator[RestartableBroker]:
    running = RestartableBroker()
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
async def federation_on(
    backend: Backend, broker: RestartableBroker, tmp_path: Path
) -> AsyncIterator[Federation]:
    async with running_federation(
        broker.kafka_bootstrap_servers, backend.mongodb_uri, 2, "restart", tmp_path / "trust"
    ) as running:
        yield running


async def enrolled_events(federation: Federation, institution: str) -> list[str]:
    """Ids of the enrolment events on the institution's identity topic, in log order."""
    records = await read_topic(
        federation.kafka_bootstrap_servers, event_topic(institution, "identity")
    )
    return [headers_of(r)["ce_id"] for r in records if ENROLLED in headers_of(r)["ce_type"]]


async def readiness(client: httpx.AsyncClient, federation: Federation) -> list[int]:
    answers = await asyncio.gather(
        *(client.get(f"{s.url}/health/ready") for s in federation.services.values())
    )
    return [a.status_code for a in answers]


# Its own waits, each bounded, add up to more than the suite's 300 s: they, not the suite's
# timeout, say which step was too slow.
@pytest.mark.timeout(480)
async def test_services_recover_from_a_broker_restart_and_lose_nothing(
    federation_on: Federation, broker: RestartableBroker, caplog: pytest.LogCaptureFixture
) -> None:
    federation = federation_on
    async with httpx.AsyncClient(timeout=30) as client:
        lead, partner = (
            await Site.open(federation, 0, client),
            await Site.open(federation, 1, client),
        )
        program = await publish_program(lead, [partner.id])
        await known_at(partner, program["id"])
        pairing = LeadApi(federation, lead, client, "pairing")
        acknowledged: list[str] = []
        at_home = {lead.id: 0, partner.id: 0}

        async def enrol_some(count: int) -> None:
            for i in range(count):
                site = (lead, partner)[i % 2]
                person = await site.register()
                await enrol(site, person, program)  # 201: acknowledged
                acknowledged.append(person["ref"])
                at_home[site.id] += 1

        async def all_in_pool() -> list[str]:
            found = await pairing.pool_refs(program["id"])
            return found if sorted(found) == sorted(acknowledged) else []

        await enrol_some(6)
        await eventually(all_in_pool)
        published = {i.id: await enrolled_events(federation, i.id) for i in federation.institutions}
        # Enrolled just before the broker goes: acknowledged by the broker, perhaps not
        # yet read by the lead's pairing.
        await enrol_some(4)

        caplog.clear()
        broker.stop()
        # While the broker is gone no service may say it is ready.
        await eventually(lambda: _all_not_ready(client, federation), within=30)
        await enrol_some(4)  # acknowledged by identity while the broker is down
        await asyncio.sleep(3)
        broker.start()

        await enrol_some(4)
        # Every acknowledged enrolment reaches the lead's pool, once.
        found = await eventually(all_in_pool, within=90)
        assert len(found) == len(set(found)) == 18
        # The lead's pairing re-joined its groups, and no service did so twice for one
        # outage (its relay and its watch may both see it).
        recoveries = {n: s.runtime.broker_watch.recoveries for n, s in federation.services.items()}
        assert recoveries[(lead.id, "pairing")] == 1 and max(recoveries.values()) == 1
        # The log is whole again: each institution's topic holds what it had published
        # before the restart, and every enrolment since.
        for institution, count in at_home.items():
            events = await eventually(
                partial(_whole, federation, institution, published[institution], count),
                within=60,
            )
            # At least once: a send the broker took but did not confirm before it went
            # is sent again; consumers' inboxes make the copy harmless.
            assert len(set(events)) == count
        await eventually(lambda: _all_ready(client, federation), within=60)
    # The outage is told once per interval, not once per retry.
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) < 100, _common(errors)


async def _all_ready(client: httpx.AsyncClient, federation: Federation) -> bool:
    return all(code == 200 for code in await readiness(client, federation))


async def _all_not_ready(client: httpx.AsyncClient, federation: Federation) -> bool:
    return all(code == 503 for code in await readiness(client, federation))


async def _whole(
    federation: Federation, institution: str, before: list[str], total: int
) -> list[str]:
    """The topic's enrolments once they include all published before and number `total`."""
    events = await enrolled_events(federation, institution)
    return events if set(before) <= set(events) and len(set(events)) >= total else []


def _common(records: list[Any]) -> str:
    counts: dict[str, int] = {}
    for record in records:
        counts[f"{record.name}: {record.msg}"] = counts.get(f"{record.name}: {record.msg}", 0) + 1
    return json.dumps(sorted(counts.items(), key=lambda kv: -kv[1])[:10], indent=1)
