"""Issue 14, attacks 5 and 6: differencing a confidential figure over time, and crossing
two splits (or a rate and its n) to narrow a concern down to a few relationships."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from telemachus.feedback.reporting import html
from telemachus.feedback.reporting.cells import Kind, Metric, Observation, metric
from telemachus.feedback.reporting.releases import Release, release

NOW = datetime(2026, 11, 29, 9, tzinfo=UTC)
K = 5


def concerns(flags: list[tuple[str, str, bool]]) -> Metric:
    """Concern rate over relationships split by mode and institutions."""
    observations = [
        Observation(f"rel-{i}", flag, {"mode": mode, "institutions": inst})
        for i, (mode, inst, flag) in enumerate(flags)
    ]
    return metric(
        "concern-rate",
        "concerns",
        Kind.RATE,
        "relationships",
        observations,
        K,
        ("mode", "institutions"),
        confidential=True,
    )


def shown(m: Metric, split: str) -> dict[str, tuple[int, float]]:
    return {c.group: (c.n or 0, c.value or 0.0) for c in m.splits[split] if not c.suppressed}


def test_one_concern_is_not_narrowed_by_crossing_two_splits_or_by_rate_times_n() -> None:
    # 18 relationships; the one concern is in mode "assigned" (8) and "uni → hosp" (6);
    # their intersection holds 3 relationships.
    flags = (
        [("assigned", "uni → hosp", i == 0) for i in range(3)]
        + [("assigned", "hosp → hosp", False)] * 5
        + [("ranked", "uni → hosp", False)] * 3
        + [("ranked", "hosp → hosp", False)] * 7
    )
    m = concerns(flags)
    assert m.total.suppressed  # 1 concern: rate x 18 would give it back
    assert all(cells == [] for cells in m.splits.values())


def test_crossed_splits_show_only_groups_of_k_relationships_and_k_concerns() -> None:
    flags = [
        (mode, inst, i % 3 == 0)
        for i, (mode, inst) in enumerate(
            itertools.chain(
                [("assigned", "uni → hosp")] * 12,
                [("assigned", "hosp → hosp")] * 9,
                [("ranked", "uni → hosp")] * 3,
                [("ranked", "hosp → hosp")] * 12,
            )
        )
    ]
    m = concerns(flags)
    assert not m.total.suppressed and m.total.n == 36
    assert_crossing_reveals_nothing_small(m, flags)


def assert_crossing_reveals_nothing_small(m: Metric, flags: list[tuple[str, str, bool]]) -> None:
    """Every cell of the two shown splits crossed (hidden groups pooled as '*') holds 0 or
    at least k relationships and 0 or at least k concerns."""
    if m.total.suppressed:
        return
    modes = {g for g in shown(m, "mode")}
    institutions = {g for g in shown(m, "institutions")}
    joint: dict[tuple[str, str], list[bool]] = {}
    for mode, inst, flag in flags:
        key = (mode if mode in modes else "*", inst if inst in institutions else "*")
        joint.setdefault(key, []).append(flag)
    for key, cell in joint.items():
        n, events = len(cell), sum(cell)
        assert n == 0 or n >= K, (key, n)
        assert events == 0 or events >= K, (key, events)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["assigned", "ranked", "mixed"]),
            st.sampled_from(["a → b", "b → a", "a → a", "c → a"]),
            st.booleans(),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_no_crossing_of_shown_cells_describes_a_small_group(
    flags: list[tuple[str, str, bool]],
) -> None:
    assert_crossing_reveals_nothing_small(concerns(flags), flags)


def scores(values: dict[str, float]) -> Metric:
    observations = [Observation(u, v, {"mode": "assigned"}) for u, v in values.items()]
    return metric(
        "mentor-attributes.v1",
        "scores",
        Kind.MEAN,
        "respondents",
        observations,
        K,
        ("mode",),
        confidential=True,
    )


def test_one_arriving_amended_or_erased_answer_changes_no_figure_until_k_have() -> None:
    first = {f"p{i}": 3.0 + i % 3 for i in range(18)}
    shown_first, stored = release("prog", scores(first), None, K, NOW)
    assert stored is not None
    later = NOW + timedelta(days=1)

    erased = {u: v for u, v in first.items() if u != "p7"}  # n 18 -> 17
    arrived = {**first, "p18": 5.0}
    amended = {**first, "p3": 1.0}
    for after in (erased, arrived, amended):
        again, new = release("prog", scores(after), stored, K, later)
        assert new is None and again.held_since == NOW
        assert again.total.n == 18 and again.total.value == shown_first.total.value

    # Once five people's contributions changed, the figure moves on.
    five_more = {**first, **{f"q{i}": 1.0 for i in range(5)}}
    moved, new = release("prog", scores(five_more), stored, K, later)
    assert new is not None and moved.held_since is None and moved.total.n == 23


def test_a_release_survives_storage_without_who_contributed() -> None:
    current = scores({f"person-{i}": 4.0 for i in range(6)})
    _, stored = release("prog", current, None, K, NOW)
    assert stored is not None
    text = Release.model_validate_json(stored.model_dump_json()).model_dump_json()
    assert "person-" not in text and stored.composition["all"]


def test_the_page_says_when_a_figure_is_held() -> None:
    held = scores({f"p{i}": 4.0 for i in range(6)}).model_copy(update={"held_since": NOW})
    assert "As shown on 29 Nov 2026 09:00 UTC" in html._metric(held)
