"""Small-group suppression shared by every service that shows counts to coordinators.

For a program threshold k, a group with 0 < n < k is hidden; since the groups of one
breakdown add up to a total, more groups are hidden, smallest first, until the hidden
ones together hold at least k, so subtraction from the total reveals only a group large
enough to hide a person. A total below k hides the whole breakdown.
"""

from __future__ import annotations

from collections.abc import Mapping


def hidden_groups(sizes: Mapping[str, int], threshold: int) -> set[str]:
    """The groups of one partition to hide (primary, then complementary suppression)."""
    hidden = {g for g, n in sizes.items() if 0 < n < threshold}
    if hidden:
        others = sorted((n, g) for g, n in sizes.items() if g not in hidden and n > 0)
        while sum(sizes[g] for g in hidden) < threshold and others:
            hidden.add(others.pop(0)[1])
    return hidden


def suppressed_counts(counts: Mapping[str, int], threshold: int) -> dict[str, int | None]:
    """`counts` with every hidden group's count replaced by None (all of them when the
    total is below the threshold)."""
    if 0 < sum(counts.values()) < threshold:
        return dict.fromkeys(counts)
    hidden = hidden_groups(counts, threshold)
    return {g: None if g in hidden else n for g, n in counts.items()}
