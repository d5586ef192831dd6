"""Traces from the JSON-lines file a local run writes: a list of recent ones, and one as a
tree (institution/service, span, duration, errors), so a newcomer can follow a flow across
institutions without a trace UI."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telemachus.shared.runtime.telemetry import rotated


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    start: int  # nanoseconds since the epoch
    end: int
    status: str
    service: str | None
    institution: str | None
    database: bool = False  # a MongoDB client call

    @property
    def millis(self) -> float:
        return (self.end - self.start) / 1e6

    @property
    def where(self) -> str:
        return f"{self.institution or '?'}/{self.service or '?'}"

    @classmethod
    def of(cls, record: dict[str, Any]) -> Span:
        return cls(
            trace_id=record["trace_id"],
            span_id=record["span_id"],
            parent_id=record.get("parent_id"),
            name=record["name"],
            start=int(record["start"]),
            end=int(record.get("end") or record["start"]),
            status=record.get("status", "UNSET"),
            service=record.get("service"),
            institution=record.get("institution"),
            database="db.system" in (record.get("attributes") or {}),
        )


def read_spans(path: Path) -> list[Span]:
    """The spans of the file and of the one it rotated to (a trace may straddle both)."""
    spans = []
    for part in (rotated(path), path):
        if not part.exists():
            continue
        with part.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    try:
                        spans.append(Span.of(json.loads(line)))
                    except (ValueError, KeyError, TypeError):
                        continue  # a line cut short by a crash: skip it, keep the rest
    return spans


@dataclass(frozen=True)
class TraceSummary:
    trace_id: str
    root: str
    start: int
    millis: float
    spans: int
    errors: int
    institutions: tuple[str, ...]


def summaries(spans: Iterable[Span], min_spans: int = 2) -> list[TraceSummary]:
    """Traces newest first; single-span traces (start-up index creation) are left out."""
    by_trace: dict[str, list[Span]] = defaultdict(list)
    for span in spans:
        by_trace[span.trace_id].append(span)
    found = []
    for trace_id, members in by_trace.items():
        if len(members) < min_spans:
            continue
        ids = {s.span_id for s in members}
        roots = [s for s in members if s.parent_id not in ids] or members
        root = min(roots, key=lambda s: s.start)
        found.append(
            TraceSummary(
                trace_id=trace_id,
                root=root.name,
                start=min(s.start for s in members),
                millis=(max(s.end for s in members) - min(s.start for s in members)) / 1e6,
                spans=len(members),
                errors=sum(s.status == "ERROR" for s in members),
                institutions=tuple(sorted({s.institution for s in members if s.institution})),
            )
        )
    return sorted(found, key=lambda t: t.start, reverse=True)


def tree(spans: Iterable[Span], trace_id: str, database: bool = False) -> Iterator[str]:
    """One line per span, children indented under their parent, in start order; database
    calls only when asked (they are most of a trace and rarely the story)."""
    members = [s for s in spans if s.trace_id == trace_id and (database or not s.database)]
    ids = {s.span_id for s in members}
    children: dict[str | None, list[Span]] = defaultdict(list)
    for span in members:
        children[span.parent_id if span.parent_id in ids else None].append(span)
    width = max((len(s.where) for s in members), default=0)

    def walk(parent: str | None, depth: int) -> Iterator[str]:
        for span in sorted(children[parent], key=lambda s: s.start):
            flag = "  ERROR" if span.status == "ERROR" else ""
            yield (f"{span.where:<{width}}  {'  ' * depth}{span.name}  {span.millis:.1f} ms{flag}")
            yield from walk(span.span_id, depth + 1)

    yield from walk(None, 0)


def matching(spans: Iterable[Span], prefix: str) -> list[str]:
    return sorted({s.trace_id for s in spans if s.trace_id.startswith(prefix.lower())})
