"""OpenTelemetry set up once, in shared code, for every service.

Each service gets its own TracerProvider whose resource names the service and its
institution. Several services may share one process (the local federation), so
process-wide instrumentation (PyMongo's command listener) routes each span to the
provider of the service whose code is running, found through a context variable.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Protocol

from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    InMemoryMetricReader,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

from telemachus.shared.runtime.metrics import ServiceMetrics

_current: ContextVar[TracerProvider | None] = ContextVar("telemachus_tracer_provider", default=None)
_instrumented = False
_instrument_lock = threading.Lock()


class TelemetrySettings(Protocol):
    """What telemetry needs of a process's settings (a service's, or the portal's)."""

    @property
    def institution(self) -> str: ...
    @property
    def service(self) -> str: ...
    @property
    def telemetry_exporter(self) -> str: ...
    @property
    def telemetry_file(self) -> Path: ...
    @property
    def telemetry_file_max_bytes(self) -> int: ...


def service_resource(institution: str, service: str) -> Resource:
    return Resource.create(
        {
            "service.name": f"telemachus-{service}",
            "service.namespace": "telemachus",
            "telemachus.institution": institution,
            "telemachus.service": service,
        }
    )


class ServiceTelemetry:
    """One service's tracer and meter providers; `active()` makes its tracer provider the
    one process-wide spans use."""

    def __init__(
        self,
        provider: TracerProvider,
        meters: MeterProvider | None = None,
        scrape: InMemoryMetricReader | None = None,
    ) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer("telemachus")
        # What GET /metrics renders: read when Prometheus asks, beside any push exporter.
        self.scrape = scrape or InMemoryMetricReader()
        self.meters = meters or MeterProvider(
            resource=provider.resource, metric_readers=[self.scrape]
        )
        self.metrics = ServiceMetrics(self.meters.get_meter("telemachus"))

    @classmethod
    def create(
        cls,
        settings: TelemetrySettings,
        extra_exporters: Sequence[SpanExporter] = (),
        metric_readers: Sequence[MetricReader] = (),
    ) -> ServiceTelemetry:
        resource = service_resource(settings.institution, settings.service)
        provider = TracerProvider(resource=resource)
        exporter = _configured_exporter(settings)
        if exporter is not None:
            provider.add_span_processor(BatchSpanProcessor(exporter))
        for extra in extra_exporters:
            # Tests read spans synchronously, so no batching delay there.
            provider.add_span_processor(SimpleSpanProcessor(extra))
        scrape = InMemoryMetricReader()
        readers = [*_configured_metric_readers(settings), *metric_readers, scrape]
        return cls(provider, MeterProvider(resource=resource, metric_readers=readers), scrape)

    @contextmanager
    def active(self) -> Iterator[None]:
        token = _current.set(self.provider)
        try:
            yield
        finally:
            _current.reset(token)

    def bind(self) -> None:
        """Make this provider current for the calling task and the tasks it starts."""
        _current.set(self.provider)

    def shutdown(self) -> None:
        self.provider.force_flush()
        self.provider.shutdown()
        self.meters.shutdown()


def _configured_metric_readers(settings: TelemetrySettings) -> list[MetricReader]:
    """Metrics go where spans go: OTLP in deployment, the console when asked."""
    match settings.telemetry_exporter:
        case "console":
            return [PeriodicExportingMetricReader(ConsoleMetricExporter())]
        case "otlp":
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
                OTLPMetricExporter,
            )

            return [PeriodicExportingMetricReader(OTLPMetricExporter())]
        case _:
            return []


def _configured_exporter(settings: TelemetrySettings) -> SpanExporter | None:
    match settings.telemetry_exporter:
        case "console":
            return ConsoleSpanExporter()
        case "file":
            return JsonLinesSpanExporter(settings.telemetry_file, settings.telemetry_file_max_bytes)
        case "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            return OTLPSpanExporter()
        case _:
            return None


class JsonLinesSpanExporter(SpanExporter):
    """Local runs write one JSON span per line, readable without a trace UI. The file is
    capped: past `max_bytes` it moves to `<name>.1` (replacing the one before) and a new
    one starts, so at most twice the cap is ever on disk."""

    def __init__(self, path: Path, max_bytes: int = 50 * 1024 * 1024) -> None:
        self._path = path
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = [json.dumps(span_record(span), default=str) for span in spans]
        with self._lock:
            if self._path.exists() and self._path.stat().st_size >= self._max_bytes:
                self._path.replace(rotated(self._path))
            with self._path.open("a", encoding="utf-8") as out:
                out.write("".join(line + "\n" for line in lines))
        return SpanExportResult.SUCCESS


def rotated(path: Path) -> Path:
    """Where the spans file goes when it is full."""
    return path.with_name(path.name + ".1")


def span_record(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    assert context is not None
    return {
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
        "parent_id": f"{span.parent.span_id:016x}" if span.parent else None,
        "name": span.name,
        "kind": span.kind.name,
        "start": span.start_time,
        "end": span.end_time,
        "status": span.status.status_code.name,
        "service": span.resource.attributes.get("telemachus.service"),
        "institution": span.resource.attributes.get("telemachus.institution"),
        "attributes": dict(span.attributes or {}),
    }


class _RoutingTracer(trace.Tracer):
    """Hands each span to the tracer of the service whose code runs now."""

    def __init__(self, name: str, version: str | None) -> None:
        self._name = name
        self._version = version

    def _target(self) -> trace.Tracer:
        provider = _current.get()
        if provider is None:
            return trace.get_tracer(self._name, self._version)
        return provider.get_tracer(self._name, self._version)

    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        return self._target().start_span(*args, **kwargs)

    @contextmanager
    def start_as_current_span(  # type: ignore[override]  # same call, simpler signature
        self, *args: Any, **kwargs: Any
    ) -> Iterator[trace.Span]:
        with self._target().start_as_current_span(*args, **kwargs) as span:
            yield span


class _RoutingTracerProvider(trace.TracerProvider):
    def get_tracer(self, instrumenting_module_name: str, *args: Any, **kwargs: Any) -> trace.Tracer:
        version = args[0] if args else kwargs.get("instrumenting_library_version")
        return _RoutingTracer(instrumenting_module_name, version)


def instrument_process() -> None:
    """Process-wide instrumentation; must run before any AsyncMongoClient is created."""
    global _instrumented
    with _instrument_lock:
        if _instrumented:
            return
        from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

        PymongoInstrumentor().instrument(tracer_provider=_RoutingTracerProvider())
        _instrumented = True
