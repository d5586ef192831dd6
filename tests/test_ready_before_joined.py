"""Issue 19, ready fast: a service says it is ready once its HTTP, store and broker answer,
while its consumers still join their groups (the join waits out the broker's rebalance
delay, seconds). Nothing is lost by that: what was published before and during the join
is handled once the consumers are in. The local launcher asks to wait for the joins."""

from __future__ import annotations

import secrets
from functools import partial

import pytest

from telemachus.shared.contracts.topics import event_topic
from telemachus.shared.runtime.broker import ensure_topics
from telemachus.shared.testing.backends import Backend
from telemachus.shared.testing.kafka import eventually, produce_event
from telemachus.shared.testing.samples import envelope, program_published
from tests.helpers.counting_service import CountingService, settings_for


async def _publish(backend: Backend, topic: str, key: str) -> None:
    event = program_published(key)
    await produce_event(backend.kafka_bootstrap_servers, topic, event, envelope(event, topic))


@pytest.fixture
async def topic(backend: Backend) -> str:
    topic = event_topic(f"ready-{secrets.token_hex(3)}", "identity")
    await ensure_topics(backend.kafka_bootstrap_servers, [topic], 1)
    return topic


def _assigned(service: CountingService) -> set[object]:
    subscriber = service.subscription.subscriber
    assert subscriber is not None
    consumer = subscriber.consumer  # none yet while its start has not begun
    return set(consumer.assignment()) if consumer is not None else set()


async def test_a_service_is_ready_while_its_consumers_join_and_loses_nothing(
    backend: Backend, topic: str
) -> None:
    home = f"ready-{secrets.token_hex(3)}"
    service = CountingService(
        settings_for(backend, home, join_groups_before_ready=False, mongodb_database=home),
        topic,
    )
    await _publish(backend, topic, "inst-a:before-start")
    await service.runtime.start()
    try:
        assert service.runtime.started
        assert _assigned(service) == set()  # still joining: the start did not wait for it
        await _publish(backend, topic, "inst-a:while-joining")
        for key in ("inst-a:before-start", "inst-a:while-joining"):
            assert await eventually(partial(service.count, key)) == 1
        assert _assigned(service)
    finally:
        await service.runtime.stop()


async def test_the_local_launcher_waits_for_the_joins(backend: Backend, topic: str) -> None:
    home = f"ready-{secrets.token_hex(3)}"
    service = CountingService(settings_for(backend, home, mongodb_database=home), topic)
    await service.runtime.start()
    try:
        assert _assigned(service)
    finally:
        await service.runtime.stop()
