"""Issue 15, dead-letter tooling: an institution's operator lists a service's dead letters
(why, where from, which trace), shows one, and replays it after the fix; a replay is
idempotent and recorded, and nobody else may do any of it. On the real broker and store,
with events signed by a partner in the trust registry."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from telemachus.shared.contracts.topics import event_topic
from telemachus.shared.runtime.broker import ensure_topics
from telemachus.shared.security.keys import InstitutionKeys
from telemachus.shared.security.signing import EventSigner
from telemachus.shared.security.tokens import Role, audience_of, token_issuer_of
from telemachus.shared.testing.backends import Backend
from telemachus.shared.testing.kafka import eventually, produce_event
from telemachus.shared.testing.samples import envelope, program_published
from telemachus.shared.testing.trust import trust_settings
from tests.helpers.counting_service import CountingService, settings_for


class Setup:
    def __init__(self, service: CountingService, keys: dict[str, Path]) -> None:
        self.service = service
        self.keys = keys

    def token(self, institution: str, *roles: Role) -> dict[str, str]:
        issuer = token_issuer_of(InstitutionKeys.load(self.keys[institution]))
        minted = issuer.mint(f"someone@{institution}", roles, audience_of(self.home))
        return {"Authorization": f"Bearer {minted}"}

    @property
    def home(self) -> str:
        return self.service.settings.institution


@pytest.fixture
async def setup(backend: Backend, tmp_path: Path) -> AsyncIterator[Setup]:
    home, partner = f"dlq-{secrets.token_hex(3)}", f"partner-{secrets.token_hex(3)}"
    trust = trust_settings(tmp_path, home, partner)
    topic = event_topic(partner, "identity")
    await ensure_topics(backend.kafka_bootstrap_servers, [topic], 1)
    settings = settings_for(backend, home, **trust[home])
    service = CountingService(settings, topic)
    signer = EventSigner(InstitutionKeys.load(trust[partner]["keys_file"]).signing_key)  # type: ignore[arg-type]
    for key in ("inst-a:program-1", "inst-a:poison"):
        event = program_published(key)
        await produce_event(
            backend.kafka_bootstrap_servers, topic, event, envelope(event, topic, signer=signer)
        )
    await service.runtime.start()
    try:
        yield Setup(service, {i: t["keys_file"] for i, t in trust.items()})
    finally:
        await service.runtime.stop()


async def _true(value: Any) -> Any:
    return value


async def test_an_operator_lists_shows_and_replays_a_dead_letter_after_the_fix(
    setup: Setup,
) -> None:
    service = setup.service
    await eventually(lambda: service.count("inst-a:program-1"))
    await eventually(lambda: _true(service.runtime.dead_letters.count == 1))
    app = service.runtime.create_app("Counting", "a test service", [])
    operator = setup.token(setup.home, Role.OPERATOR)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://counting"
    ) as client:
        listed = await client.get("/dead-letters", headers=operator)
        assert listed.status_code == 200, listed.text
        assert listed.headers["X-Total-Count"] == "1"
        (letter,) = listed.json()
        assert letter["reason"] == "handler-failed"
        assert "cannot handle inst-a:poison" in letter["detail"]
        assert letter["original"]["topic"] == service.topic
        assert letter["event"]["type"].endswith("program-published.v1")
        assert letter["replayed"] is None

        shown = await client.get(f"/dead-letters/{letter['id']}", headers=operator)
        assert shown.status_code == 200
        assert shown.json()["headers"]["ce_id"] == letter["event"]["id"]

        # Not fixed yet: the replay says so, and adds no dead letter.
        again = await client.post(f"/dead-letters/{letter['id']}/replay", headers=operator)
        assert again.status_code == 200, again.text
        assert again.json()["outcome"].startswith("handler-failed")
        assert service.runtime.dead_letters.count == 1

        service.poison = "nothing-is-poison-now"  # the fix is deployed
        for _ in range(2):  # replayed twice: the effect happens once
            done = await client.post(f"/dead-letters/{letter['id']}/replay", headers=operator)
            assert done.status_code == 200, done.text
            assert done.json()["outcome"] == "handled"
        assert await service.count("inst-a:poison") == 1

        settled = (await client.get("/dead-letters", headers=operator)).json()[0]["replayed"]
        assert settled["times"] == 3 and settled["last"]["outcome"] == "handled"

        # Nobody but the institution's own operators.
        assert (await client.get("/dead-letters")).status_code == 401
        coordinator = setup.token(setup.home, Role.COORDINATOR)
        assert (await client.get("/dead-letters", headers=coordinator)).status_code == 403
        partner = next(i for i in setup.keys if i != setup.home)
        foreign = setup.token(partner, Role.OPERATOR)
        refused = await client.post(f"/dead-letters/{letter['id']}/replay", headers=foreign)
        assert refused.status_code in (401, 403)
        missing = await client.get("/dead-letters/0-000000009999", headers=operator)
        assert missing.status_code == 404
