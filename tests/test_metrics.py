"""The metrics ops teams watch, from a consumer on the real broker and store."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from telemachus.cli.federation import Federation
from telemachus.shared.contracts.topics import event_topic
from telemachus.shared.runtime.broker import ensure_topics
from telemachus.shared.runtime.telemetry import ServiceTelemetry
from telemachus.shared.testing.backends import Backend
from telemachus.shared.testing.kafka import eventually, produce_event
from telemachus.shared.testing.samples import envelope, program_published
from tests.helpers.counting_service import CountingService, settings_for
from tests.helpers.sites import Site, known_at, publish_program


def points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    data = reader.get_metrics_data()
    found: dict[str, list[Any]] = {}
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


async def test_handled_latency_dead_letters_and_lag_are_measured(backend: Backend) -> None:
    topic = event_topic(f"src-{secrets.token_hex(3)}", "identity")
    await ensure_topics(backend.kafka_bootstrap_servers, [topic], 1)
    settings = settings_for(backend, f"metrics-{secrets.token_hex(3)}")
    reader = InMemoryMetricReader()
    service = CountingService(
        settings, topic, telemetry=ServiceTelemetry.create(settings, metric_readers=[reader])
    )
    events = [program_published(f"inst-a:program-{i}") for i in range(3)]
    poison = program_published("inst-a:poison")
    for event in [*events, poison]:
        await produce_event(backend.kafka_bootstrap_servers, topic, event, envelope(event, topic))
    await service.runtime.start()
    try:
        await eventually(lambda: service.count("inst-a:program-2"))
        await eventually(lambda: _ready(service.runtime.dead_letters.count == 1))
        found = points(reader)
        handled = {p.attributes["outcome"]: p.value for p in found["telemachus.events.handled"]}
        assert handled == {"handled": 3, "failed": 1}
        assert sum(p.count for p in found["telemachus.handler.duration"]) == 4
        assert [
            (p.attributes["reason"], p.value) for p in found["telemachus.events.dead_lettered"]
        ] == [("handler-failed", 1)]
        # The gauge shows once the dead letter's offset is marked handled, which follows
        # the dead-letter publish the line above waited for.
        await eventually(lambda: _ready(_lag(reader) == {topic: 0}))  # all four handled
        assert [p.value for p in found["telemachus.outbox.backlog"]] == [0]
    finally:
        await service.runtime.stop()


async def _ready(value: bool) -> bool:
    return value


def _lag(reader: InMemoryMetricReader) -> dict[str, int]:
    return {
        p.attributes["topic"]: p.value for p in points(reader).get("telemachus.consumer.lag", [])
    }


async def test_an_idle_service_writes_no_spans(backend: Backend) -> None:
    """Issue 15: the outbox poll made a root span every 0.5 s (about 1 GB of traces a day
    from an idle service). Housekeeping is not traced; a published event still is."""
    topic = event_topic(f"src-{secrets.token_hex(3)}", "identity")
    await ensure_topics(backend.kafka_bootstrap_servers, [topic], 1)
    settings = settings_for(backend, f"idle-{secrets.token_hex(3)}", outbox_poll_seconds=0.1)
    spans = InMemorySpanExporter()
    service = CountingService(
        settings, topic, telemetry=ServiceTelemetry.create(settings, extra_exporters=[spans])
    )
    await service.runtime.start()
    try:
        spans.clear()
        await asyncio.sleep(3)  # some 30 polls of the outbox and lease renewals
        assert [s.name for s in spans.get_finished_spans()] == []
        event = program_published("inst-a:traced")
        await produce_event(backend.kafka_bootstrap_servers, topic, event, envelope(event, topic))
        await eventually(lambda: service.count("inst-a:traced"))
        assert spans.get_finished_spans()  # handling an event is traced
    finally:
        await service.runtime.stop()


async def test_every_service_serves_its_metrics_to_prometheus(federation: Federation) -> None:
    """Issue 15: metrics only went out by OTLP push; Prometheus scrapes `/metrics`, parsed
    here by the Prometheus client library's own parser."""
    async with httpx.AsyncClient() as client:
        for (institution, service), running in federation.services.items():
            response = await client.get(f"{running.url}/metrics")
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
            families = {f.name: f for f in text_string_to_metric_families(response.text)}
            assert {
                "telemachus_outbox_backlog",
                "telemachus_outbox_oldest_age_seconds",
                "telemachus_consumer_stalled_seconds",
            } <= set(families), (institution, service, sorted(families))
            for sample in families["telemachus_outbox_backlog"].samples:
                assert sample.labels["telemachus_institution"] == institution
                assert sample.labels["telemachus_service"] == service
    # A service that has handled an event counts it and times its handler.
    async with httpx.AsyncClient(timeout=30) as client:
        lead, partner = (
            await Site.open(federation, 0, client),
            await Site.open(federation, 1, client),
        )
        program = await publish_program(lead, [partner.id])
        await known_at(partner, program["id"])  # the partner's identity handled it
        text = (await client.get(f"{federation.url(partner.id, 'identity')}/metrics")).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    handled = families["telemachus_events_handled"]  # the parser drops the _total suffix
    assert handled.type == "counter"
    assert any(
        s.labels["type"] == "org.telemachus.identity.program-published.v1"
        and s.labels["outcome"] == "handled"
        and s.value >= 1
        for s in handled.samples
    )
    assert families["telemachus_handler_duration_seconds"].type == "histogram"
