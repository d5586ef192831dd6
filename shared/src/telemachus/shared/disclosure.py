"""Small-group suppression shared by every service that shows counts to coordinators.

For a program threshold k, a group is hidden when any count it discloses (its size, or
for a confidential rate also how many had the event) is between 1 and k-1; since the
groups of one breakdown add up to a total, more groups are hidden, smallest first, until
the hidden ones together disclose only 0 or at least k, so subtraction from the total
reveals no small group. A total below k hides the whole breakdown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Counts = Sequence[int]


def small(counts: Counts, threshold: int) -> bool:
    """Whether any of these counts describes a group of 1 to k-1."""
    return any(0 < c < threshold for c in counts)


def _sum(vectors: list[Counts]) -> tuple[int, ...]:
    return tuple(sum(column) for column in zip(*vectors, strict=True)) if vectors else ()


def hidden_groups(counts: Mapping[str, Counts], threshold: int) -> set[str]:
    """The groups of one partition to hide (primary, then complementary suppression).
    Each group's counts come first by size: the smallest groups are hidden first."""
    hidden = {g for g, c in counts.items() if small(c, threshold)}
    if hidden:
        others = sorted((tuple(c), g) for g, c in counts.items() if g not in hidden and c[0] > 0)
        while small(_sum([counts[g] for g in hidden]), threshold) and others:
            hidden.add(others.pop(0)[1])
    return hidden


def suppressed_counts(counts: Mapping[str, int], threshold: int) -> dict[str, int | None]:
    """`counts` with every hidden group's count replaced by None (all of them when the
    total is below the threshold)."""
    if 0 < sum(counts.values()) < threshold:
        return dict.fromkeys(counts)
    hidden = hidden_groups({g: (n,) for g, n in counts.items()}, threshold)
    return {g: None if g in hidden else n for g, n in counts.items()}
