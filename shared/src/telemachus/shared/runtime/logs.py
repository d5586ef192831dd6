"""Structured logs: one JSON object per line, carrying the trace and span ids."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from opentelemetry import trace

_STANDARD = set(vars(logging.makeLogRecord({})))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            entry["trace_id"] = f"{context.trace_id:032x}"
            entry["span_id"] = f"{context.span_id:016x}"
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class OncePerInterval(logging.Filter):
    """Lets a warning or error of one logger and message template through once per
    interval; the next one through carries how many were held back (`suppressed`).

    With the broker gone, the Kafka client logs each failed retry (thousands of lines a
    minute, per service); the outage is told as well by one line per kind per interval.
    """

    def __init__(self, interval: float = 30.0, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self._interval = interval
        self._clock = clock
        self._last: dict[tuple[str, object], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, record.msg)
        now = self._clock()
        with self._lock:
            last, held = self._last.get(key, (float("-inf"), 0))
            if now - last < self._interval:
                self._last[key] = (last, held + 1)
                return False
            self._last[key] = (now, 0)
        if held:
            record.suppressed = held
        return True


_throttle = OncePerInterval()
# Loggers that repeat themselves while the broker or store is away.
NOISY_LOGGERS = ("aiokafka", "telemachus.shared.runtime.outbox")


def throttle_repeated_logs(prefixes: tuple[str, ...] = NOISY_LOGGERS) -> None:
    """Attach the once-per-interval filter to every logger under these names (a filter on
    a logger does not reach its children, so each existing one gets it). Idempotent."""
    names = [
        name
        for name in list(logging.root.manager.loggerDict)
        if any(name == p or name.startswith(p + ".") for p in prefixes)
    ]
    for name in {*names, *prefixes}:
        logger = logging.getLogger(name)
        if _throttle not in logger.filters:
            logger.addFilter(_throttle)


def configure_logging(fmt: str = "json", level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiokafka reports every rebalance step at INFO; keep the service's own lines readable.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
