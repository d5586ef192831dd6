"""`GET /metrics`: the service's own metrics in the Prometheus text format, beside the OTLP
push, named as the collector's Prometheus exporter names them (dots become underscores,
counters end in `_total`, anything in seconds in `_seconds`), so the same dashboard and alert
rules (deploy/observability/) read either. Each service renders its own meter provider:
several services share one process in a local federation, which a process-wide Prometheus
registry would mix up."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry.sdk.metrics.export import (
    Gauge,
    Histogram,
    InMemoryMetricReader,
    Metric,
    Sum,
)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
RESOURCE_LABELS = ("telemachus.institution", "telemachus.service")


def _name(metric: Metric) -> str:
    """As the collector's exporter names it: dots as underscores, `_seconds` for seconds."""
    base = metric.name.replace(".", "_").replace("-", "_")
    return f"{base}_seconds" if metric.unit == "s" else base


def _escape(value: Any) -> str:
    text = str(value).replace("\\", "\\\\").replace("\n", "\\n")
    return text.replace('"', '\\"')


def _labels(attributes: Mapping[str, Any], **extra: str) -> str:
    pairs = {**{k.replace(".", "_"): v for k, v in attributes.items()}, **extra}
    if not pairs:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(pairs.items())) + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if isinstance(value, float) else str(value)


def _families(metric: Metric, resource: Mapping[str, Any]) -> Iterator[str]:
    base = _name(metric)
    data = metric.data
    help_line = (metric.description or "").replace("\n", " ")
    if isinstance(data, Sum):
        name = f"{base}_total" if data.is_monotonic else base
        kind = "counter" if data.is_monotonic else "gauge"
        yield f"# HELP {name} {help_line}\n# TYPE {name} {kind}\n"
        for point in data.data_points:
            labels = _labels({**resource, **dict(point.attributes or {})})
            yield f"{name}{labels} {_number(point.value)}\n"
    elif isinstance(data, Gauge):
        yield f"# HELP {base} {help_line}\n# TYPE {base} gauge\n"
        for point in data.data_points:
            labels = _labels({**resource, **dict(point.attributes or {})})
            yield f"{base}{labels} {_number(point.value)}\n"
    elif isinstance(data, Histogram):
        name = base  # a histogram of seconds is already named ..._seconds
        yield f"# HELP {name} {help_line}\n# TYPE {name} histogram\n"
        for histogram in data.data_points:
            attributes = {**resource, **dict(histogram.attributes or {})}
            cumulative = 0
            for bound, count in zip(
                [*histogram.explicit_bounds, math.inf], histogram.bucket_counts, strict=True
            ):
                cumulative += count
                le = _labels(attributes, le=_number(bound))
                yield f"{name}_bucket{le} {cumulative}\n"
            labels = _labels(attributes)
            yield f"{name}_sum{labels} {_number(histogram.sum)}\n"
            yield f"{name}_count{labels} {histogram.count}\n"


def exposition(reader: InMemoryMetricReader) -> str:
    """Everything the reader collects now, as Prometheus text."""
    data = reader.get_metrics_data()
    lines: list[str] = []
    for resource_metrics in data.resource_metrics if data else []:
        attributes = resource_metrics.resource.attributes
        resource = {k: attributes[k] for k in RESOURCE_LABELS if k in attributes}
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                lines.extend(_families(metric, resource))
    return "".join(lines)
