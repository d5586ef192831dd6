"""Confidence intervals and small-cell suppression, without a broker or a store."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy import stats

from telemachus.feedback.reporting.cells import Cell, Kind, Observation, metric
from telemachus.feedback.reporting.statistics import (
    mean_estimate,
    proportion_estimate,
    t_quantile,
)


@pytest.mark.parametrize("df", [1, 2, 3, 4, 7, 12, 30, 200])
@pytest.mark.parametrize("p", [0.6, 0.9, 0.975, 0.995])
def test_t_quantile_matches_scipy(df: int, p: float) -> None:
    assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-9)
    assert t_quantile(1 - p, df) == pytest.approx(stats.t.ppf(1 - p, df), rel=1e-9)


def test_mean_interval_by_hand() -> None:
    # changes 1,2,1,2,1,2,1,2: mean 1.5, sd sqrt(2/7), t(0.975, 7) = 2.364624
    estimate = mean_estimate([1, 2] * 4)
    half = 2.364624252 * (2 / 7) ** 0.5 / 8**0.5
    assert estimate.value == 1.5
    assert estimate.low == pytest.approx(1.5 - half, abs=1e-6)
    assert estimate.high == pytest.approx(1.5 + half, abs=1e-6)
    assert mean_estimate([3.0]).low is None  # no interval from one value


def test_wilson_interval_matches_statsmodels_formula() -> None:
    # 3 of 4: Wilson 95% = (0.3006, 0.9544), as every statistics text computes it.
    estimate = proportion_estimate(3, 4)
    assert (round(estimate.low or 0, 4), round(estimate.high or 0, 4)) == (0.3006, 0.9544)
    assert proportion_estimate(0, 5).low == 0.0


def split_of(threshold: int, **sizes: int) -> list[Cell]:
    """The cells of one split whose groups hold these many units each, as released."""
    observations = [
        Observation(f"{group}{i}", float(n), {"mode": group})
        for group, n in sizes.items()
        for i in range(n)
    ]
    m = metric("x", "x", Kind.MEAN, "respondents", observations, threshold, ("mode",))
    return m.splits["mode"]


def test_one_small_cell_takes_the_next_smallest_with_it() -> None:
    shown = split_of(5, a=10, b=6, c=2)
    assert [c.suppressed for c in shown] == [False, True, True]
    assert shown[1].n is None and shown[1].value is None


def test_small_cells_that_together_reach_the_threshold_suffice() -> None:
    shown = split_of(5, a=10, b=3, c=2)
    assert [c.suppressed for c in shown] == [False, True, True]


def test_everything_hidden_when_no_complement_is_large_enough() -> None:
    shown = split_of(5, a=6, b=1)
    assert all(c.suppressed for c in shown)


def test_a_total_below_the_threshold_hides_the_whole_metric() -> None:
    observations = [Observation(f"u{i}", 1.0, {"mode": "assigned"}) for i in range(4)]
    m = metric("x", "x", Kind.MEAN, "respondents", observations, 5, ("mode",))
    assert m.total.suppressed and m.total.value is None and m.splits == {"mode": []}


@given(
    st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=8),
    st.integers(min_value=2, max_value=10),
)
def test_no_hidden_cell_can_be_recovered_by_subtraction(sizes: list[int], k: int) -> None:
    assume(sum(sizes) >= k)  # a smaller total is hidden whole (previous test)
    groups = {f"g{i}": n for i, n in enumerate(sizes) if n}
    shown = split_of(k, **groups)
    hidden = [groups[c.group] for c in shown if c.suppressed]
    assert all(not (0 < (c.n or 0) < k) for c in shown if not c.suppressed)
    # What subtraction reveals is the hidden cells' sum: a group of at least k, or nothing.
    assert not hidden or sum(hidden) >= k
