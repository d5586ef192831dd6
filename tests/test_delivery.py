"""Delivery guarantees on the real broker and store: inbox, redelivery, dead letters, outbox."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from telemachus.identity.bootstrap import bootstrap as identity_bootstrap
from telemachus.shared.contracts.topics import (
    SERVICES,
    dead_letter_topic,
    event_topic,
    service_topics,
)
from telemachus.shared.runtime import dead_letter
from telemachus.shared.runtime.broker import ensure_topics
from telemachus.shared.runtime.outbox import OUTBOX_COLLECTION
from telemachus.shared.testing.backends import Backend
from telemachus.shared.testing.kafka import (
    eventually,
    headers_of,
    produce,
    produce_event,
    read_topic,
)
from telemachus.shared.testing.samples import envelope, program_published
from telemachus.shared.testing.trust import trust_settings
from tests.helpers.counting_service import CountingService, settings_for

HELPERS = Path(__file__).parent / "helpers"


async def test_the_same_event_delivered_twice_changes_state_once(
    backend: Backend, source: str, counting: CountingService
) -> None:
    event = program_published("inst-a:program-1")
    headers = envelope(event, source, event_id="same-id")
    for _ in range(2):
        await produce_event(backend.kafka_bootstrap_servers, source, event, headers)
    await eventually(lambda: _async(counting.committed() == 2))
    assert await counting.count("inst-a:program-1") == 1
    assert await counting.runtime.db["inbox"].count_documents({}) == 1


async def test_redelivery_after_a_crash_before_the_offset_commit_is_harmless(
    backend: Backend, source: str
) -> None:
    settings = settings_for(
        backend,
        f"crash-{secrets.token_hex(3)}",
        offset_commit_seconds=3600,
        offset_commit_every=1_000_000,
    )
    first = CountingService(settings, source)
    await first.runtime.start()
    event = program_published("inst-a:program-2")
    await produce_event(backend.kafka_bootstrap_servers, source, event, envelope(event, source))
    await eventually(lambda: first.count("inst-a:program-2"))
    # Crash: the effect is committed in MongoDB, the offset never reached Kafka.
    await first.subscription.committer.stop(commit=False)
    await first.runtime.relay.stop()
    await first.runtime.broker.stop()
    await first.runtime.client.close()
    assert first.committed() == 0

    restarted = settings.model_copy(
        update={"offset_commit_seconds": 0.2, "offset_commit_every": 200}
    )
    second = CountingService(restarted, source)
    await second.runtime.start()
    try:
        await eventually(lambda: _async(second.committed() == 1))  # it came again...
        assert await second.count("inst-a:program-2") == 1  # ...and changed nothing
    finally:
        await second.runtime.stop()


async def test_malformed_events_go_to_the_dead_letter_topic_and_the_consumer_moves_on(
    backend: Backend, source: str, counting: CountingService
) -> None:
    bootstrap = backend.kafka_bootstrap_servers
    good = program_published("inst-a:program-3")
    broken = good.model_dump(mode="json")
    del broken["topics"]
    await produce(bootstrap, source, b'{"no": "envelope"}', {"x": "1"})
    await produce(
        bootstrap,
        source,
        good.model_dump_json().encode(),
        {**envelope(good, source), "ce_subject": "\udcff"},
    )
    await produce(bootstrap, source, b"not json", envelope(good, source))
    await produce(bootstrap, source, json.dumps(broken).encode(), envelope(good, source))
    unknown = {**envelope(good, source), "ce_type": "org.example.something-else.v1"}
    await produce_event(bootstrap, source, good, unknown)
    # Published on this topic while claiming to come from another institution.
    foreign = {**envelope(good, source), "ce_source": "/telemachus/someone-else/identity"}
    await produce_event(bootstrap, source, good, foreign)
    await produce_event(bootstrap, source, good, envelope(good, source))

    await eventually(lambda: counting.count("inst-a:program-3"))
    await eventually(lambda: _async(counting.committed() == 7))
    dlq = dead_letter_topic(counting.settings.institution, "pairing")
    letters = sorted(
        (headers_of(r) for r in await read_topic(bootstrap, dlq)),
        key=lambda h: int(h[dead_letter.ORIGINAL_OFFSET]),
    )
    assert [h[dead_letter.REASON] for h in letters] == [
        "invalid-envelope",
        "invalid-envelope",
        "invalid-data",
        "invalid-data",
        "source-mismatch",
    ]
    assert "ce_id" in letters[0][dead_letter.DETAIL]
    assert "ce_subject: header is not UTF-8" in letters[1][dead_letter.DETAIL]
    assert "Invalid JSON" in letters[2][dead_letter.DETAIL]
    assert "topics: Field required" in letters[3][dead_letter.DETAIL]
    assert "/telemachus/someone-else/identity published on topic" in letters[4][dead_letter.DETAIL]
    assert [int(h[dead_letter.ORIGINAL_OFFSET]) for h in letters] == [0, 1, 2, 3, 5]
    assert all(h[dead_letter.ORIGINAL_TOPIC] == source for h in letters)


async def test_an_event_that_keeps_failing_is_retried_then_dead_lettered(
    backend: Backend, source: str, counting: CountingService
) -> None:
    bootstrap = backend.kafka_bootstrap_servers
    poison, after = program_published("inst-a:poison"), program_published("inst-a:program-4")
    for event in (poison, after):
        await produce_event(bootstrap, source, event, envelope(event, source))
    await eventually(lambda: counting.count("inst-a:program-4"))
    assert counting.attempts.count("inst-a:poison") == counting.settings.handler_attempts
    dlq = dead_letter_topic(counting.settings.institution, "pairing")
    letters = await eventually(lambda: read_topic(bootstrap, dlq))
    assert headers_of(letters[0])[dead_letter.REASON] == "handler-failed"
    assert "RuntimeError: cannot handle inst-a:poison" in headers_of(letters[0])[dead_letter.DETAIL]


async def test_batched_consumer_dedupes_and_isolates_a_failing_event(
    backend: Backend, source: str
) -> None:
    service = CountingService(
        settings_for(backend, f"batch-{secrets.token_hex(3)}"), source, batch=True
    )
    events = [program_published(f"inst-a:program-{i:03}") for i in range(40)]
    records = [(e, envelope(e, source)) for e in events]
    records.insert(10, records[5])  # the same event again, inside one batch
    poison = program_published("inst-a:poison")
    records.insert(20, (poison, envelope(poison, source)))
    for event, headers in records:
        await produce_event(backend.kafka_bootstrap_servers, source, event, headers)
    await service.runtime.start()
    try:
        await eventually(lambda: _async(service.committed() == len(records)), within=60)
        counts = [await service.count(e.program_id) for e in events]
        assert counts == [1] * len(events)
        assert await service.runtime.db["inbox"].count_documents({}) == len(events)
        # The poison event, and the copy published again at another offset: a replay.
        assert service.runtime.dead_letters.by_reason == {"handler-failed": 1, "replayed": 1}
    finally:
        await service.runtime.stop()


@pytest.mark.parametrize("batch", [False, True], ids=["per-event", "batched"])
async def test_an_event_older_than_what_is_held_is_recorded_without_effect(
    backend: Backend, source: str, batch: bool
) -> None:
    """Sequences: one program's events numbered 2, 1 (an older fact sent again under a new
    id), 2 again (new id), then 3 and 5. Only 2, 3 and 5 count; all five are in the inbox,
    so none is dead-lettered or comes again."""
    service = CountingService(
        settings_for(backend, f"seq-{secrets.token_hex(3)}"), source, batch=batch
    )
    program = program_published("inst-a:sequenced")
    for n in (2, 1, 2, 3, 5):
        event = program.model_copy(update={"sequence": n})
        await produce_event(backend.kafka_bootstrap_servers, source, event, envelope(event, source))
    await service.runtime.start()
    try:
        await eventually(lambda: _async(service.committed() == 5), within=60)
        assert await service.count(program.program_id) == 3
        assert await service.runtime.db["inbox"].count_documents({}) == 5
        assert service.runtime.dead_letters.count == 0
    finally:
        await service.runtime.stop()


async def test_an_event_committed_before_a_crash_is_published_after_restart(
    backend: Backend, tmp_path: Path
) -> None:
    institution = f"outbox-{secrets.token_hex(3)}"
    trust = trust_settings(tmp_path, institution)[institution]
    settings = settings_for(
        backend,
        institution,
        service="identity",
        mongodb_database=f"test-{institution}-identity",
        **trust,
    )
    writer = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HELPERS / "commit_then_hang.py"),
        backend.kafka_bootstrap_servers,
        backend.mongodb_uri,
        institution,
        settings.database_name,
        str(trust["trust_registry_file"]),
        str(trust["keys_file"]),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(HELPERS.parent.parent)},
    )
    try:
        assert writer.stdout is not None
        program_id = (await writer.stdout.readline()).decode().strip()
        assert program_id.startswith(f"{institution}:")
    finally:
        writer.send_signal(signal.SIGKILL)
        await writer.wait()

    probe = identity_bootstrap(settings).state.runtime
    assert (
        await probe.db[OUTBOX_COLLECTION].count_documents({"key": program_id, "sent_at": None}) == 1
    )
    await probe.client.close()
    topic = event_topic(institution, "identity")
    # The institution's other services' topics, as where identity runs among them: else each
    # start waits 30 s for them (wait_for_topics_seconds) before consuming anyway.
    others = [t for s in SERVICES if s != "identity" for t in service_topics(institution, s)]
    await ensure_topics(backend.kafka_bootstrap_servers, others, settings.topic_partitions)
    for _ in range(2):  # and a second restart publishes nothing again
        runtime = identity_bootstrap(settings).state.runtime
        await runtime.start()
        try:
            outbox = runtime.db[OUTBOX_COLLECTION]

            async def all_sent(outbox: Any = outbox) -> bool:
                return await outbox.count_documents({"sent_at": None}) == 0

            await eventually(all_sent)
        finally:
            await runtime.stop()
    records = await read_topic(backend.kafka_bootstrap_servers, topic)
    assert [(r.key, json.loads(r.value)["program_id"]) for r in records] == [
        (program_id.encode(), program_id)
    ]


async def _async(value: object) -> object:
    return value
