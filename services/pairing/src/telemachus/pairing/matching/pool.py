"""A round's pool as arrays: one row per person, one column per topic.

The engines work on these arrays, not on objects, so 150,000 people fit in a few tens
of megabytes and the hot loops compile. People are rows 0..n-1; `refs` maps them back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt

from telemachus.pairing.matching.availability import WORDS, weekly_mask

I8 = npt.NDArray[np.int8]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]


@dataclass(frozen=True)
class Pool:
    refs: list[str]
    topics: list[str]
    stage: I8  # 1..5, 0 = not shared
    profession: I8  # index, -1 = not shared
    institution: I32  # index
    department: I64  # code, 0 = not shared
    languages: U64  # bit per language
    availability: U64  # (n, WORDS) UTC half-hours
    offers: I8  # (n, topics) proficiency 1..5, 0 = not offered
    seeks: I8  # (n, topics) priority 1..5, 0 = not sought
    capacity: I32  # places left this round
    # Pairs that may not be proposed: code mentor * n + mentee, sorted.
    forbidden: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def size(self) -> int:
        return len(self.refs)

    def index(self) -> dict[str, int]:
        return {ref: i for i, ref in enumerate(self.refs)}


def pair_codes(n: int, pairs: list[tuple[int, int]]) -> I64:
    """Sorted codes of (mentor, mentee) rows, for `Pool.forbidden`."""
    codes = np.array([m * n + e for m, e in pairs], dtype=np.int64)
    return np.unique(codes)


@dataclass
class Person:
    """One person's shared facts, as pairing holds them."""

    ref: str
    institution: str
    career_stage: int | None = None
    profession: str | None = None
    department: str | None = None
    reporting_line: tuple[str, ...] = ()
    offers: dict[str, int] = field(default_factory=dict)
    seeks: dict[str, int] = field(default_factory=dict)
    languages: tuple[str, ...] = ()
    time_zone: str | None = None
    slots: tuple[tuple[str, object, object], ...] = ()
    capacity: int = 1


def build_pool(
    people: list[Person],
    topics: list[str],
    week_of: date,
    not_again: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
) -> Pool:
    """Arrays for `people`. `not_again` holds (mentor, mentee) refs already paired or
    declined; line-management chains are forbidden both ways."""
    n = len(people)
    row = {p.ref: i for i, p in enumerate(people)}
    topic_col = {t: k for k, t in enumerate(topics)}
    professions: dict[str, int] = {}
    institutions: dict[str, int] = {}
    languages: dict[str, int] = {}
    departments: dict[str, int] = {}
    stage = np.zeros(n, dtype=np.int8)
    profession = np.full(n, -1, dtype=np.int8)
    institution = np.zeros(n, dtype=np.int32)
    department = np.zeros(n, dtype=np.int64)
    language_bits = np.zeros(n, dtype=np.uint64)
    availability = np.zeros((n, WORDS), dtype=np.uint64)
    offers = np.zeros((n, len(topics)), dtype=np.int8)
    seeks = np.zeros((n, len(topics)), dtype=np.int8)
    capacity = np.zeros(n, dtype=np.int32)
    forbidden: list[tuple[int, int]] = []
    for i, p in enumerate(people):
        stage[i] = p.career_stage or 0
        if p.profession is not None:
            profession[i] = professions.setdefault(p.profession, len(professions))
        institution[i] = institutions.setdefault(p.institution, len(institutions))
        if p.department is not None:
            department[i] = departments.setdefault(p.department, len(departments) + 1)
        for lang in p.languages:
            # Beyond 64 distinct languages in one pool, the rest share a bit: a
            # slightly generous "shared language", never a missed pair.
            bit = languages.setdefault(lang, len(languages)) % 64
            language_bits[i] |= np.uint64(1) << np.uint64(bit)
        if p.time_zone is not None and p.slots:
            availability[i] = weekly_mask(p.slots, p.time_zone, week_of)  # type: ignore[arg-type]
        for topic, level in p.offers.items():
            if topic in topic_col:
                offers[i, topic_col[topic]] = level
        for topic, level in p.seeks.items():
            if topic in topic_col:
                seeks[i, topic_col[topic]] = level
        capacity[i] = max(p.capacity, 0)
        for manager in p.reporting_line:
            if manager in row:
                forbidden.append((row[manager], i))
                forbidden.append((i, row[manager]))
    for mentor, mentee in not_again:
        if mentor in row and mentee in row:
            forbidden.append((row[mentor], row[mentee]))
    return Pool(
        refs=[p.ref for p in people],
        topics=list(topics),
        stage=stage,
        profession=profession,
        institution=institution,
        department=department,
        languages=language_bits,
        availability=availability,
        offers=offers,
        seeks=seeks,
        capacity=capacity,
        forbidden=pair_codes(n, forbidden),
    )
