"""Aggregates in cells, and the suppression that keeps a small group's values hidden.

A metric is computed over observations; each observation belongs to a unit (a person or a
relationship) and to one group per split (pairing mode, institution pairing, profession
pairing). A cell counts its distinct units (`n`). The rules, for a program threshold k:

1. A cell with 0 < n < k is suppressed (primary suppression); its n is hidden too.
2. The groups of one split partition the total, so one hidden cell could be recovered as
   the total minus the cells shown. Within each split, further cells are suppressed,
   smallest first, until the hidden cells together hold at least k units (complementary
   suppression): their sum is then a group large enough to hide a person, and no single
   hidden cell can be told apart from it.
3. If the total itself has fewer than k units, the whole metric is suppressed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel, Field

from telemachus.feedback.reporting.statistics import Estimate, mean_estimate, proportion_estimate
from telemachus.shared.disclosure import hidden_groups


class Kind(StrEnum):
    COUNT = "count"  # value is n
    RATE = "rate"  # share of units whose observation is 1
    MEAN = "mean"  # mean over units (each unit's own observations averaged first)


@dataclass(frozen=True)
class Observation:
    unit: str
    value: float
    groups: dict[str, str] = field(default_factory=dict)


class Cell(BaseModel):
    group: str
    n: int | None = Field(description="distinct units; hidden when suppressed")
    value: float | None = None
    low: float | None = Field(default=None, description="95% confidence interval")
    high: float | None = None
    suppressed: bool = False


class Metric(BaseModel):
    id: str
    label: str
    kind: Kind
    unit: str = Field(description="what n counts: participants, relationships, respondents")
    total: Cell
    splits: dict[str, list[Cell]] = Field(default_factory=dict)
    items: list[Cell] = Field(default_factory=list, description="per item, total only")


def _estimate(kind: Kind, per_unit: Sequence[float]) -> Estimate:
    if kind is Kind.COUNT:
        return Estimate(float(len(per_unit)))
    if kind is Kind.RATE:
        return proportion_estimate(sum(1 for v in per_unit if v), len(per_unit))
    return mean_estimate(list(per_unit))


def _per_unit(observations: Iterable[Observation]) -> list[float]:
    by_unit: dict[str, list[float]] = defaultdict(list)
    for o in observations:
        by_unit[o.unit].append(o.value)
    return [sum(v) / len(v) for v in by_unit.values()]


def cell(group: str, kind: Kind, observations: Sequence[Observation]) -> Cell:
    per_unit = _per_unit(observations)
    if not per_unit:
        return Cell(group=group, n=0)
    estimate = _estimate(kind, per_unit)
    return Cell(
        group=group, n=len(per_unit), value=estimate.value, low=estimate.low, high=estimate.high
    )


def hidden(group: str) -> Cell:
    return Cell(group=group, n=None, suppressed=True)


def suppress_partition(cells: list[Cell], threshold: int) -> list[Cell]:
    """Rules 1 and 2 over the cells of one split (see the module's docstring)."""
    suppressed = hidden_groups({c.group: c.n or 0 for c in cells}, threshold)
    return [hidden(c.group) if c.group in suppressed else c for c in cells]


def metric(
    id: str,
    label: str,
    kind: Kind,
    unit: str,
    observations: Sequence[Observation],
    threshold: int,
    splits: Sequence[str] = (),
    items: Callable[[], list[Cell]] | None = None,
) -> Metric:
    total = cell("all", kind, observations)
    if total.n is not None and 0 < total.n < threshold:
        return Metric(
            id=id,
            label=label,
            kind=kind,
            unit=unit,
            total=hidden("all"),
            splits={s: [] for s in splits},
        )
    by_split: dict[str, list[Cell]] = {}
    for split in splits:
        grouped: dict[str, list[Observation]] = defaultdict(list)
        for o in observations:
            grouped[o.groups[split]].append(o)
        cells = [cell(g, kind, grouped[g]) for g in sorted(grouped)]
        by_split[split] = suppress_partition(cells, threshold)
    return Metric(
        id=id,
        label=label,
        kind=kind,
        unit=unit,
        total=total,
        splits=by_split,
        items=items() if items and total.n else [],
    )
