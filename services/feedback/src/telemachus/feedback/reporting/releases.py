"""The release rule over time for confidential figures (answers, concerns).

Reading the report before and after one answer arrives, is amended or is erased would
show that one person's contribution by subtraction. So a confidential metric is released
anew only when, in each of its cells, either nobody's contribution changed or at least k
people's did; otherwise the last release is shown again, dated. A cell's contributors are
compared as digests (cells.fingerprint): who changed is never stored in the clear.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel

from telemachus.feedback.reporting.cells import Metric
from telemachus.feedback.reporting.evaluation import EvaluationReport


class Release(BaseModel):
    """What was last shown of one metric of one program, and who was in each cell."""

    program_id: str
    metric: Metric
    composition: dict[str, dict[str, str]]
    released_at: datetime

    @staticmethod
    def key(program_id: str, metric_id: str) -> str:
        return f"{program_id}|{metric_id}"


def changed_units(before: dict[str, str], after: dict[str, str]) -> int:
    """Contributors added, removed, or whose contribution differs."""
    return sum(1 for u in before.keys() | after.keys() if before.get(u) != after.get(u))


def release(
    program_id: str, current: Metric, previous: Release | None, threshold: int, now: datetime
) -> tuple[Metric, Release | None]:
    """The metric to show, and the release to store (None: nothing new to store)."""
    if not current.confidential:
        return current, None
    composition = current._composition
    if previous is not None:
        cells = previous.composition.keys() | composition.keys()
        changes = [
            changed_units(previous.composition.get(c, {}), composition.get(c, {})) for c in cells
        ]
        if all(n == 0 for n in changes):
            return current, None
        if any(0 < n < threshold for n in changes):
            return previous.metric.model_copy(update={"held_since": previous.released_at}), None
    return current, Release(
        program_id=program_id, metric=current, composition=composition, released_at=now
    )


def release_metrics(
    program_id: str,
    metrics: list[Metric],
    previous: Mapping[str, Release],
    threshold: int,
    now: datetime,
) -> tuple[list[Metric], list[Release]]:
    """Apply the rule to each metric: the metrics to show and the releases to store."""
    shown, stored = [], []
    for current in metrics:
        metric, new = release(program_id, current, previous.get(current.id), threshold, now)
        shown.append(metric)
        if new is not None:
            stored.append(new)
    return shown, stored


def release_report(
    report: EvaluationReport, previous: Mapping[str, Release]
) -> tuple[EvaluationReport, list[Release]]:
    """Apply the rule to every metric of the report."""
    stored: list[Release] = []
    sections = []
    for section in report.sections:
        shown, new = release_metrics(
            report.program_id, section.metrics, previous, report.threshold, report.generated_at
        )
        stored.extend(new)
        sections.append(section.model_copy(update={"metrics": shown}))
    return report.model_copy(update={"sections": sections}), stored
