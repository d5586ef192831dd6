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

A confidential metric (answers, concerns) also resists crossing and derived figures:

4. A confidential rate discloses how many had the event (rate x n), so that count obeys
   rules 1-3 as n does: one concern among 18 relationships hides the concern rate.
5. Splits are checked together: crossing the cells shown of two splits (and the hidden
   remainder of each) must give only groups of 0 or at least k units (and events), else
   more cells of the later split are hidden, smallest first. Whatever a reader intersects
   or subtracts is then a union of such groups.

The release rule over time (a report read before and after one answer) is releases.py's.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field, PrivateAttr, computed_field

from telemachus.feedback.reporting.statistics import Estimate, mean_estimate, proportion_estimate
from telemachus.shared.disclosure import hidden_groups, small


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


MET = "whether the figure shown reaches the target; null: no target, or suppressed"


class Metric(BaseModel):
    id: str
    label: str
    kind: Kind
    unit: str = Field(description="what n counts: participants, relationships, respondents")
    total: Cell
    splits: dict[str, list[Cell]] = Field(default_factory=dict)
    items: list[Cell] = Field(default_factory=list, description="per item, total only")
    confidential: bool = Field(
        default=False, description="built from answers or concerns: rules 4-5 and releases"
    )
    target: float | None = Field(
        default=None, description="what the program's goal aims for (a goal's metrics only)"
    )
    held_since: datetime | None = Field(
        default=None,
        description="as released then: fewer than k people's contributions have changed "
        "since in some cell, so newer figures wait (releases.py)",
    )
    # cell -> {unit digest: value digest}, for the release rule; never serialised
    _composition: dict[str, dict[str, str]] = PrivateAttr(default_factory=dict)

    @computed_field(description=MET)  # type: ignore[prop-decorator]
    @property
    def met(self) -> bool | None:
        if self.target is None or self.total.value is None:
            return None
        return self.total.value >= self.target


def _estimate(kind: Kind, per_unit: Sequence[float]) -> Estimate:
    if kind is Kind.COUNT:
        return Estimate(float(len(per_unit)))
    if kind is Kind.RATE:
        return proportion_estimate(sum(1 for v in per_unit if v), len(per_unit))
    return mean_estimate(list(per_unit))


def _by_unit(observations: Iterable[Observation]) -> dict[str, float]:
    """Each unit's value: its observations averaged."""
    grouped: dict[str, list[float]] = defaultdict(list)
    for o in observations:
        grouped[o.unit].append(o.value)
    return {unit: sum(v) / len(v) for unit, v in grouped.items()}


def cell(group: str, kind: Kind, observations: Sequence[Observation]) -> Cell:
    per_unit = list(_by_unit(observations).values())
    if not per_unit:
        return Cell(group=group, n=0)
    estimate = _estimate(kind, per_unit)
    return Cell(
        group=group, n=len(per_unit), value=estimate.value, low=estimate.low, high=estimate.high
    )


def hidden(group: str) -> Cell:
    return Cell(group=group, n=None, suppressed=True)


def fingerprint(values: Mapping[str, float]) -> dict[str, str]:
    """Who contributed what to a cell, as digests: enough to tell how many units changed
    between two releases, not who they are or what they gave."""
    return {
        hashlib.sha256(unit.encode()).hexdigest()[:16]: hashlib.sha256(
            repr(round(value, 9)).encode()
        ).hexdigest()[:12]
        for unit, value in values.items()
    }


class _Disclosure:
    """The counts a cell discloses, for rules 1-5."""

    def __init__(self, kind: Kind, values: Mapping[str, float], confidential: bool) -> None:
        self.values = values
        self.with_events = confidential and kind is Kind.RATE

    def counts(self, units: Iterable[str]) -> tuple[int, ...]:
        members = list(units)
        if self.with_events:
            return (len(members), sum(1 for u in members if self.values[u]))
        return (len(members),)


def _crossed(
    members: Mapping[str, list[str]],
    hidden_now: set[str],
    shown_keys: Mapping[str, tuple[str, ...]],
    disclosure: _Disclosure,
    threshold: int,
) -> set[str]:
    """Rule 5: hide more groups of this split until crossing it with the splits already
    shown gives no small group (a small hidden remainder takes in a shown group beside it)."""
    group_of = {u: g for g, units in members.items() for u in units}
    hidden_now = set(hidden_now)
    while True:
        joint: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for unit, key in shown_keys.items():
            group = group_of[unit]
            joint[(*key, "*" if group in hidden_now else group)].append(unit)
        offending: set[str] = set()
        for key, units in joint.items():
            if not small(disclosure.counts(units), threshold):
                continue
            if key[-1] != "*":
                offending.add(key[-1])
            else:  # the hidden remainder under this key: widen it with a neighbour
                offending |= {
                    group_of[u]
                    for u, other in shown_keys.items()
                    if other == key[:-1] and group_of[u] not in hidden_now
                }
        if not offending:
            return hidden_now
        hidden_now.add(min(offending, key=lambda g: (len(members[g]), g)))


def metric(
    id: str,
    label: str,
    kind: Kind,
    unit: str,
    observations: Sequence[Observation],
    threshold: int,
    splits: Sequence[str] = (),
    items: Callable[[], list[tuple[str, list[Observation]]]] | None = None,
    confidential: bool = False,
    target: float | None = None,
) -> Metric:
    values = _by_unit(observations)
    disclosure = _Disclosure(kind, values, confidential)
    total = cell("all", kind, observations)
    if small(disclosure.counts(values), threshold):
        return Metric(
            id=id,
            label=label,
            kind=kind,
            unit=unit,
            total=hidden("all"),
            splits={s: [] for s in splits},
            confidential=confidential,
            target=target,
        )
    groups_of = {o.unit: o.groups for o in observations}
    composition = {"all": fingerprint(values)} if confidential else {}
    shown_keys: dict[str, tuple[str, ...]] = dict.fromkeys(values, ())
    by_split: dict[str, list[Cell]] = {}
    for split in splits:
        members: dict[str, list[str]] = defaultdict(list)
        for u in values:
            members[groups_of[u][split]].append(u)
        grouped: dict[str, list[Observation]] = defaultdict(list)
        for o in observations:
            grouped[o.groups[split]].append(o)
        suppressed = hidden_groups(
            {g: disclosure.counts(us) for g, us in members.items()}, threshold
        )
        if confidential:
            suppressed = _crossed(members, suppressed, shown_keys, disclosure, threshold)
            for u, key in shown_keys.items():
                group = groups_of[u][split]
                shown_keys[u] = (*key, "*" if group in suppressed else group)
        cells = []
        for g in sorted(members):
            if g in suppressed:
                cells.append(hidden(g))
                continue
            cells.append(cell(g, kind, grouped[g]))
            if confidential:
                composition[f"{split}:{g}"] = fingerprint({u: values[u] for u in members[g]})
        by_split[split] = cells
    item_cells = []
    for item_id, item_observations in items() if items and total.n else []:
        item_cells.append(cell(item_id, Kind.MEAN, item_observations))
        if confidential:
            composition[f"item:{item_id}"] = fingerprint(_by_unit(item_observations))
    released = Metric(
        id=id,
        label=label,
        kind=kind,
        unit=unit,
        total=total,
        splits=by_split,
        items=item_cells,
        confidential=confidential,
        target=target,
    )
    released._composition = composition
    return released
