"""The walking skeleton across three institutions and four services, on the real broker/store."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from telemachus.cli.federation import Federation
from telemachus.cli.main import main
from telemachus.cli.skeleton import SkeletonFlow, SkeletonResult
from telemachus.shared.contracts.identity import ParticipantEnrolledV2
from telemachus.shared.contracts.topics import event_topic
from telemachus.shared.runtime.telemetry import JsonLinesSpanExporter
from telemachus.shared.security.keys import InstitutionKeys
from telemachus.shared.testing.kafka import headers_of, read_topic


@pytest.fixture(scope="module")
async def flow(federation: Federation) -> SkeletonResult:
    async with httpx.AsyncClient(timeout=30) as client:
        tracer = TracerProvider().get_tracer("tests")
        return await SkeletonFlow(federation, client, tracer, print).run()


def _service(span: ReadableSpan) -> str:
    return str(span.resource.attributes.get("telemachus.service"))


def _institution(span: ReadableSpan) -> str:
    return str(span.resource.attributes.get("telemachus.institution"))


async def test_flow_opens_relationships_and_feedback_windows(
    flow: SkeletonResult, federation: Federation
) -> None:
    lead, *partners = [i.id for i in federation.institutions]
    assert flow.program_id.startswith(f"{lead}:")
    assert set(flow.participants) == {lead, *partners}
    # The university's early-career researcher mentors the two seniors, each on what they seek.
    mentor = flow.participants[partners[0]]
    assert {(p["mentor_ref"], p["mentee_ref"], p["topic"]) for p in flow.pairings} == {
        (mentor, flow.participants[lead], "e-medicine"),
        (mentor, flow.participants[partners[1]], "literature-searching"),
    }
    assert all(p["status"] == "proposed" and p["explanation"] for p in flow.pairings)
    assert {r["pairing_id"] for r in flow.relationships} == {p["id"] for p in flow.pairings}
    assert all(r["mentor_ref"] == mentor and r["status"] == "active" for r in flow.relationships)
    assert {w["relationship_id"] for w in flow.windows} == {r["id"] for r in flow.relationships}
    assert all(w["kind"] == "baseline" for w in flow.windows)
    # Two relationships and three people are below the default threshold of 5: the page
    # shows that, and no one's reference.
    assert "Relationships started" in flow.report_html
    assert "suppressed (small group)" in flow.report_html
    assert not [ref for ref in flow.participants.values() if ref in flow.report_html]


async def test_all_spans_of_the_flow_share_one_trace_across_services_and_institutions(
    flow: SkeletonResult, federation: Federation, spans: InMemorySpanExporter
) -> None:
    in_trace = [
        s
        for s in spans.get_finished_spans()
        if s.context is not None and f"{s.context.trace_id:032x}" == flow.trace_id
    ]
    kinds: dict[str, set[str]] = defaultdict(set)
    for span in in_trace:
        service = _service(span)
        if span.kind is SpanKind.SERVER:
            kinds[service].add("http")
        elif span.kind is SpanKind.PRODUCER:
            kinds[service].add("publish")
        elif span.kind is SpanKind.CONSUMER:
            kinds[service].add("consume")
        elif span.kind is SpanKind.CLIENT and (span.attributes or {}).get("db.system") == "mongodb":
            kinds[service].add("mongodb")
        elif span.name.startswith("handle "):
            kinds[service].add("handler")
    # Sessions and feedback only react to events; identity and pairing also serve the flow's
    # requests. Each publishes what it caused.
    assert kinds["identity"] >= {"http", "handler", "mongodb", "publish", "consume"}
    assert kinds["pairing"] >= {"http", "handler", "mongodb", "publish", "consume"}
    assert kinds["sessions"] >= {"handler", "mongodb", "publish", "consume"}
    assert kinds["feedback"] >= {"handler", "mongodb", "publish", "consume"}
    assert {_institution(s) for s in in_trace} >= {i.id for i in federation.institutions}


async def test_enrolment_events_carry_only_consented_fields_under_a_pseudonym(
    flow: SkeletonResult, federation: Federation
) -> None:
    for institution in federation.institutions:
        records = await read_topic(
            federation.kafka_bootstrap_servers, event_topic(institution.id, "identity")
        )
        # Other tests share this federation: only this flow's program counts here.
        enrolled = [
            r
            for r in records
            if headers_of(r)["ce_type"] == ParticipantEnrolledV2.event_type
            and json.loads(r.value)["program_id"] == flow.program_id
        ]
        assert len(enrolled) == 1
        record = enrolled[0]
        body = json.loads(record.value)
        assert set(body) == {
            "participant_ref",
            "home_institution",
            "program_id",
            "lead_institution",
            "consented_fields",
            "profile",
            "sequence",
        }
        assert body["participant_ref"] == flow.participants[institution.id]
        assert record.key == body["participant_ref"].encode()
        text = record.value.decode() + json.dumps(headers_of(record))
        assert "@" not in text and "Dr " not in text and "Prof " not in text
        # The profile opens only at the program's lead, with only the consented fields.
        lead = flow.program_id.split(":")[0]
        opened = ParticipantEnrolledV2.model_validate(body).opened(
            InstitutionKeys.load(federation.key_files[lead])
        )
        assert set(opened.profile.model_dump(exclude_unset=True)) == set(body["consented_fields"])
        assert headers_of(record)["ce_source"] == f"/telemachus/{institution.id}/identity"
        assert "traceparent" in headers_of(record)


async def test_telemachus_traces_shows_the_flow_as_one_tree_across_institutions(
    flow: SkeletonResult,
    federation: Federation,
    spans: InMemorySpanExporter,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """What `telemachus demo` then `telemachus traces` shows an ops newcomer."""
    traces = tmp_path / "traces.jsonl"
    JsonLinesSpanExporter(traces).export(spans.get_finished_spans())
    # The session's federation has made many traces since the flow (sweeps, other tests'
    # calls), and the listing shows the newest 20 by default: list them all here. This is
    # why the test failed now and then, depending on what ran before it.
    assert main(["traces", "--file", str(traces), "--limit", "1000000"]) == 0
    listing = capsys.readouterr().out
    line = next(x for x in listing.splitlines() if x.startswith(flow.trace_id))
    assert all(i.id in line for i in federation.institutions)
    assert main(["traces", flow.trace_id[:10], "--file", str(traces)]) == 0
    tree = capsys.readouterr().out.splitlines()

    width = max(len(x.split()[0]) for x in tree)  # the institution/service column

    def depth(line: str) -> int:
        rest = line[width:]
        return len(rest) - len(rest.lstrip()) - 2

    lead, *partners = [i.id for i in federation.institutions]
    # Partners' consumers hang beneath the lead's request that caused them: one tree.
    assert tree[0].startswith(f"{lead}/identity") and depth(tree[0]) == 0
    for partner in partners:
        nested = [x for x in tree if x.startswith(f"{partner}/")]
        assert nested and max(map(depth, nested)) > depth(tree[0])
    assert main(["traces", "ffffffffffff", "--file", str(traces)]) == 2
