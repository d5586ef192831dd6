"""One line per benchmark that `run_all.py` gathers into `make bench`'s closing table:
each figure, its unit, and its ratio to the baseline measured in the same run."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

PREFIX = "summary: "


@dataclass(frozen=True)
class Figure:
    benchmark: str
    figure: str
    value: float
    unit: str
    ratio: float | None = None  # to the baseline, higher is better
    baseline: str = ""


def report(*figures: Figure) -> None:
    print(PREFIX + json.dumps([asdict(f) for f in figures]), flush=True)


def parse(line: str) -> list[Figure]:
    return [Figure(**f) for f in json.loads(line.removeprefix(PREFIX))]
