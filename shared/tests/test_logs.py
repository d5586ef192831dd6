from __future__ import annotations

import json
import logging

from opentelemetry.sdk.trace import TracerProvider

from telemachus.shared.runtime.logs import JsonFormatter


def test_log_lines_are_json_with_the_current_trace_and_extra_fields() -> None:
    tracer = TracerProvider().get_tracer("test")
    record = logging.makeLogRecord(
        {
            "name": "telemachus.test",
            "levelname": "WARNING",
            "msg": "event %s",
            "args": ("dead-lettered",),
            "reason": "invalid-data",
        }
    )
    with tracer.start_as_current_span("work") as span:
        line = json.loads(JsonFormatter().format(record))
    context = span.get_span_context()
    assert line["message"] == "event dead-lettered"
    assert line["level"] == "WARNING"
    assert line["reason"] == "invalid-data"
    assert line["trace_id"] == f"{context.trace_id:032x}"
    assert line["span_id"] == f"{context.span_id:016x}"


def test_outside_a_span_there_is_no_trace_id() -> None:
    record = logging.makeLogRecord({"msg": "plain"})
    assert "trace_id" not in json.loads(JsonFormatter().format(record))
