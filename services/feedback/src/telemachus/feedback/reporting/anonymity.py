"""k-anonymity of the research export over its quasi-identifiers.

A lead coordinator knows, from other views, each relationship's pairing mode, both
professions, whether it crosses institutions, its status and how many sessions it held:
the quasi-identifiers. Rows are released only in classes (equal quasi-identifiers) of at
least k distinct relationships, k being the program's reporting threshold. To get there
the export first generalises, one step at a time and for every row alike (so a column
means one thing throughout the file), and stops at the first step where at most one in
twenty relationships is left in a small class; those are then withheld. Which steps were
taken and how many rows were withheld is written in the codebook.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

QUASI_IDENTIFIERS = (
    "pairing_mode",
    "mentor_profession",
    "mentee_profession",
    "cross_institution",
    "relationship_status",
    "sessions_held",
)
PROFESSION_FAMILY = {
    "medicine": "clinical",
    "nursing": "clinical",
    "physiotherapy": "clinical",
    "speech-pathology": "clinical",
    "pharmacy": "clinical",
    "dentistry": "clinical",
    "education": "academic",
    "research": "academic",
    "other": "other",
}
SHARE_WITHHELD = 20  # at most 1 in this many relationships may be withheld at a step


def sessions_band(held: Any) -> Any:
    if held is None:
        return None
    n = int(held)
    return "0" if n == 0 else "1-2" if n <= 2 else "3-5" if n <= 5 else "6+"


def _family(profession: Any) -> Any:
    return None if profession is None else PROFESSION_FAMILY.get(str(profession), "other")


@dataclass(frozen=True)
class Step:
    name: str
    column: str
    recode: Callable[[Any], Any]


STEPS = (
    Step("sessions held in bands 0, 1-2, 3-5, 6+", "sessions_held", sessions_band),
    Step(
        "completed and ended merged as closed",
        "relationship_status",
        lambda s: "closed" if s in ("completed", "ended") else s,
    ),
    Step("mentor profession as its family", "mentor_profession", _family),
    Step("mentee profession as its family", "mentee_profession", _family),
    Step("sessions held withheld", "sessions_held", lambda _: None),
    Step("mentor profession withheld", "mentor_profession", lambda _: None),
    Step("mentee profession withheld", "mentee_profession", lambda _: None),
    Step("cross-institution flag withheld", "cross_institution", lambda _: None),
    Step("relationship status withheld", "relationship_status", lambda _: None),
)


@dataclass(frozen=True)
class Anonymised:
    rows: list[dict[str, Any]]
    steps: list[str]
    rows_withheld: int
    relationships_withheld: int


def _small_classes(rows: Sequence[dict[str, Any]], k: int) -> set[str]:
    """Relationships whose quasi-identifier class holds fewer than k relationships."""
    classes: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    for row in rows:
        classes[tuple(row[c] for c in QUASI_IDENTIFIERS)].add(row["relationship"])
    return {r for members in classes.values() if len(members) < k for r in members}


def k_anonymous(rows: list[dict[str, Any]], k: int) -> Anonymised:
    """Generalise step by step, then withhold what is still in a class below k."""
    relationships = {row["relationship"] for row in rows}
    allowed = len(relationships) // SHARE_WITHHELD
    current = [dict(row) for row in rows]
    taken: list[str] = []
    small = _small_classes(current, k)
    for step in STEPS:
        if len(small) <= allowed:
            break
        for row in current:
            row[step.column] = step.recode(row[step.column])
        taken.append(step.name)
        small = _small_classes(current, k)
    kept = [row for row in current if row["relationship"] not in small]
    return Anonymised(kept, taken, len(current) - len(kept), len(small))
