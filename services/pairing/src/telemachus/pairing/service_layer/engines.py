"""The pairing engines, as the service layer calls them: in a worker thread, imported there.

The engines' kernels import numba (1.3 s of imports): imported at start, they held a
service's readiness back. The first call, or the start's warm-up, loads them in its
worker thread instead, off the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from telemachus.pairing.matching.pool import Pool
from telemachus.pairing.matching.rules import Rules
from telemachus.shared.contracts.vocabulary import PairingMode

if TYPE_CHECKING:
    from telemachus.pairing.matching.candidates import CandidateGraph
    from telemachus.pairing.matching.circles import Circle, Formation
    from telemachus.pairing.matching.engine import Outcome


def run_round(
    pool: Pool,
    rules: Rules,
    mode: PairingMode,
    *,
    pins: Sequence[tuple[str, str]],
    rankings: Mapping[str, Sequence[str]],
    proposers: str,
) -> Outcome:
    from telemachus.pairing.matching import engine, stable

    return engine.run_round(
        pool, rules, mode, pins=pins, rankings=rankings, proposers=stable.Proposers(proposers)
    )


def form_circles(
    pool: Pool,
    rules: Rules,
    smallest: int,
    largest: int,
    mode: str,
    rankings: Mapping[str, Sequence[str]],
) -> Formation[Circle]:
    from telemachus.pairing.matching import circles

    return circles.form(pool, rules, circles.CircleSizes(smallest, largest), mode, rankings)


def candidates_of(pool: Pool, rules: Rules) -> CandidateGraph:
    from telemachus.pairing.matching import candidates

    return candidates.generate(pool, rules)


def warm_up() -> None:
    from telemachus.pairing.matching import engine

    engine.warm_up()
