"""The local spans file is capped: it rotates once to <file>.1 instead of growing forever."""

from __future__ import annotations

from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from telemachus.shared.runtime.telemetry import JsonLinesSpanExporter, rotated


def test_the_spans_file_rotates_at_its_cap_and_keeps_one_older_file(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(path, max_bytes=2048)))
    tracer = provider.get_tracer("test")
    for i in range(200):
        with tracer.start_as_current_span(f"span-{i}"):
            pass
    assert path.stat().st_size < 2048 + 1024  # never far past the cap
    assert rotated(path).exists() and rotated(path).stat().st_size < 2048 + 1024
    assert sorted(p.name for p in tmp_path.iterdir()) == ["traces.jsonl", "traces.jsonl.1"]
    assert "span-199" in path.read_text()  # the newest spans are in the current file
