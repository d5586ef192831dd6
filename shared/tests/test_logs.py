from __future__ import annotations

import json
import logging

from opentelemetry.sdk.trace import TracerProvider

from telemachus.shared.runtime.logs import JsonFormatter, OncePerInterval


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


def test_a_repeated_warning_is_told_once_per_interval_with_the_count_held_back() -> None:
    now = [0.0]
    throttle = OncePerInterval(interval=30.0, clock=lambda: now[0])

    def record(msg: str, level: int = logging.ERROR) -> logging.LogRecord:
        return logging.makeLogRecord(
            {"name": "aiokafka", "msg": msg, "args": ("x",), "levelno": level}
        )

    passed = []
    for second in range(0, 61):
        now[0] = float(second)
        for _ in range(10):  # ten retries a second
            line = record("Unable connect to node %s")
            if throttle.filter(line):
                passed.append((second, getattr(line, "suppressed", 0)))
    assert passed == [(0, 0), (30, 299), (60, 299)]
    # Another message, and anything below a warning, are not held back.
    assert throttle.filter(record("Heartbeat failed: %s"))
    assert all(throttle.filter(record("joined %s", logging.INFO)) for _ in range(5))
