"""Small-group suppression of counts: no hidden group is recoverable by subtraction."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from telemachus.shared.disclosure import suppressed_counts


def test_a_single_exit_is_hidden_with_every_other_reason() -> None:
    counts = {"discomfort": 1, "schedule": 0, "topic-mismatch": 0, "other": 0}
    assert suppressed_counts(counts, 5) == dict.fromkeys(counts)


def test_a_small_group_is_hidden_with_the_next_smallest() -> None:
    shown = suppressed_counts({"schedule": 9, "discomfort": 1, "other": 6, "topic": 0}, 5)
    assert shown == {"schedule": 9, "discomfort": None, "other": None, "topic": 0}


@given(
    st.dictionaries(st.sampled_from("abcdefg"), st.integers(0, 12), min_size=1),
    st.integers(2, 8),
)
def test_what_subtraction_reveals_is_nothing_or_a_group_of_k(
    counts: dict[str, int], k: int
) -> None:
    shown = suppressed_counts(counts, k)
    if 0 < sum(counts.values()) < k:
        assert set(shown.values()) == {None}  # and so the total is not known either
        return
    hidden_total = sum(counts[g] for g, n in shown.items() if n is None)
    assert hidden_total == 0 or hidden_total >= k
    assert all(n is None or n == 0 or n >= k for n in shown.values())
