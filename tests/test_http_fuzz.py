"""Every HTTP API fuzzed from its own OpenAPI document (schemathesis): valid and invalid
requests, as a coordinator of the institution. No answer is a server error, every status is
one the document lists for that operation, every refusal is RFC 9457 problem details, and a
refused request (4xx) leaves the service's database as it was.

TELEMACHUS_FUZZ_EXAMPLES sets the examples per operation and mode (CI: 60 in all, i.e.
a few per operation; a longer run: 2000).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from pymongo import MongoClient
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from telemachus.cli.dev_idp import groups_for
from telemachus.cli.federation import Federation
from telemachus.shared.contracts.topics import SERVICES, ServiceName
from telemachus.shared.runtime.problems import PROBLEM_JSON, TYPE_PREFIX
from telemachus.shared.security.tokens import Role
from telemachus.shared.testing.backends import Backend
from tests.conftest import running_federation

# schemathesis' own strategies draw from `random`; that is theirs to change, not a finding.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
EXAMPLES = int(os.environ.get("TELEMACHUS_FUZZ_EXAMPLES", "60"))
# Written by the service itself, not by a request (the relay marks rows sent later).
BOOKKEEPING = {"inbox", "event_positions", "leases"}


@pytest.fixture(scope="module")
async def lone(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Federation]:
    """One institution of its own: nothing else writes to its databases while it is fuzzed."""
    async with running_federation(
        backend.kafka_bootstrap_servers,
        backend.mongodb_uri,
        1,
        "fuzz",
        tmp_path_factory.mktemp("fuzz-trust"),
    ) as federation:
        yield federation


def digest(client: MongoClient[Any], database: str) -> str:
    """What a request could have changed: every document but the bookkeeping."""
    db = client[database]
    h = hashlib.sha256()
    for name in sorted(db.list_collection_names()):
        if name in BOOKKEEPING:
            continue
        # The relay's marks on an outbox row: when and where it was published.
        relay_marks = {"sent_at": 0, "attempts": 0, "partition": 0, "offset": 0, "republish": 0}
        for document in db[name].find({}, relay_marks).sort("_id"):
            h.update(name.encode())
            h.update(json.dumps(document, sort_keys=True, default=str).encode())
    return h.hexdigest()


def settle(client: MongoClient[Any], database: str, quiet: int = 3, within: float = 30) -> None:
    """Until the store has not changed for `quiet` looks in a row, 0.2 s apart."""
    deadline, last, same = time.monotonic() + within, digest(client, database), 0
    while same < quiet and time.monotonic() < deadline:
        time.sleep(0.2)
        now = digest(client, database)
        same, last = (same + 1, last) if now == last else (0, now)


def fuzz_service(
    federation: Federation, service: ServiceName, mongodb_uri: str, token: str
) -> Counter[str]:
    """Runs in a worker thread: schemathesis calls are blocking, the services are not.
    `token`: the institution's coordinator, signed in at its IdP."""
    institution = federation.institutions[0].id
    url = federation.url(institution, service)
    headers = {"Authorization": f"Bearer {token}"}
    database = federation.runtime(institution, service).settings.database_name
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = [r.ok() for r in schema.get_all_operations() if isinstance(r, Ok)]
    per_operation = max(2, EXAMPLES // max(1, len(operations)))
    outcomes: Counter[str] = Counter()
    with MongoClient[dict[str, Any]](mongodb_uri) as client:
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @settings(
                    max_examples=per_operation,
                    deadline=None,
                    database=None,
                    derandomize=True,
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=operation.as_strategy(generation_mode=mode))
                def call(case: Any) -> None:
                    before = digest(client, database)
                    response = case.call(base_url=url, headers=headers, timeout=30)
                    where = f"{case.method} {case.formatted_path} -> {response.status_code}"
                    assert response.status_code < 500, f"{where}: {response.text[:300]}"
                    # `call` runs within this iteration, so `operation` is the current one.
                    documented = operation.definition.raw.get("responses", {})  # noqa: B023
                    said = response.text[:300]
                    assert str(response.status_code) in documented, f"undocumented: {where} {said}"
                    if response.status_code >= 400:
                        # schemathesis gives each header as a list of its values
                        (kind,) = response.headers.get("content-type", [""])
                        media = documented[str(response.status_code)].get("content", {})
                        assert kind in media, f"{where}: {kind}, documented {list(media)}"
                        if kind == PROBLEM_JSON:  # not SCIM's and OAuth's own bodies
                            problem = response.json()
                            assert problem["status"] == response.status_code, where
                            assert problem["type"].startswith(TYPE_PREFIX), where
                        assert digest(client, database) == before, f"refused but changed: {where}"
                    elif case.method != "GET":
                        # Accepted work may go on after the answer (an import job does):
                        # the next refusal is judged once it is done.
                        settle(client, database)
                    outcomes[f"{response.status_code // 100}xx"] += 1

                try:
                    call()
                except Exception as error:
                    # Unsatisfiable negative strategies (nothing to make invalid) are not bugs.
                    if type(error).__name__ != "Unsatisfiable":
                        raise
    return outcomes


async def test_every_api_survives_fuzzing_without_errors_or_changes_on_refusal(
    lone: Federation, backend: Backend
) -> None:
    totals: dict[str, Counter[str]] = {}
    for service in SERVICES:
        institution = lone.institutions[0].id
        token = await lone.sign_in(
            institution, f"fuzz@{institution}", *groups_for(Role.COORDINATOR)
        )
        totals[service] = await asyncio.to_thread(
            fuzz_service, lone, service, backend.mongodb_uri, token
        )
    print("\nHTTP fuzz:", {s: dict(c) for s, c in totals.items()})
    assert all(sum(c.values()) > 0 for c in totals.values())

    # And a body over the size limit is refused before anything reads it.
    institution = lone.institutions[0].id
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            f"{lone.url(institution, 'identity')}/participants",
            content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 413
