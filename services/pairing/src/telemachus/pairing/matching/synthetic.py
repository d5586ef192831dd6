"""Seeded synthetic programs for benchmarks and property tests.

Scores come out correlated, as in real programs: each mentor has one latent expertise
that raises their proficiency in every topic they offer, people keep office hours in a
few time zones (so overlaps cluster), and most share a language. Uniform random scores
would be easier for every solver and flatter them.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from telemachus.pairing.matching.availability import HALF_HOURS_PER_WEEK, WORDS
from telemachus.pairing.matching.pool import Pool

TOPICS = [
    "e-medicine",
    "apps",
    "literature-searching",
    "online-records",
    "social-media",
    "genetic-analysis",
    "well-being",
    "diversity",
    "other-professions",
]
ZONE_OFFSETS_HOURS = (0, 1, -5, 10)  # London, Paris, New York, Sydney (standard time)


def _availability(rng: np.random.Generator, n: int, blocks: np.ndarray) -> np.ndarray:
    """Office-hour blocks in local time, shifted to UTC, as (n, WORDS) bitmasks."""
    bits = np.zeros((n, HALF_HOURS_PER_WEEK), dtype=bool)
    zone = rng.choice(np.array(ZONE_OFFSETS_HOURS), size=n)
    most = int(blocks.max())
    for b in range(most):
        active = blocks > b
        day = rng.integers(0, 5, size=n)
        start_hour = rng.integers(7, 18, size=n)
        length = rng.integers(2, 7, size=n)  # half-hours
        first = day * 48 + start_hour * 2 - zone * 2
        for step in range(6):
            on = active & (step < length)
            bits[np.flatnonzero(on), (first[on] + step) % HALF_HOURS_PER_WEEK] = True
    padded = np.zeros((n, WORDS * 64), dtype=bool)
    padded[:, :HALF_HOURS_PER_WEEK] = bits
    packed = np.packbits(padded.reshape(n, WORDS, 64), axis=2, bitorder="little")
    return packed.view(np.uint64).reshape(n, WORDS).copy()


def _pick_topics(
    rng: np.random.Generator, n: int, popularity: np.ndarray, how_many: np.ndarray
) -> np.ndarray:
    """(n, topics) booleans: `how_many[i]` distinct topics each, weighted by popularity
    (Gumbel top-k)."""
    keys = np.log(popularity)[None, :] + rng.gumbel(size=(n, popularity.size))
    rank = np.argsort(np.argsort(-keys, axis=1), axis=1)
    return rank < how_many[:, None]


def synthetic_pool(
    mentees: int,
    mentors: int,
    *,
    seed: int = 7,
    max_capacity: int = 3,
    institutions: int = 3,
    managers: bool = True,
) -> Pool:
    """Rows 0..mentees-1 seek topics (senior), the rest offer them (junior)."""
    rng = np.random.default_rng(seed)
    n = mentees + mentors
    topics = len(TOPICS)
    stage = np.concatenate(
        [rng.integers(2, 6, size=mentees), rng.integers(1, 4, size=mentors)]
    ).astype(np.int8)
    offers = np.zeros((n, topics), dtype=np.int8)
    seeks = np.zeros((n, topics), dtype=np.int8)
    popularity = rng.dirichlet(np.ones(topics) * 2)
    wanted = _pick_topics(rng, mentees, popularity, rng.integers(1, 3, size=mentees))
    seeks[:mentees][wanted] = rng.integers(1, 6, size=int(wanted.sum()))
    expertise = rng.beta(2, 2, size=mentors)
    given = _pick_topics(rng, mentors, popularity, rng.integers(1, 4, size=mentors))
    level = 1 + 4 * expertise[:, None] + rng.normal(0, 0.7, size=(mentors, topics))
    offers[mentees:] = np.where(given, np.clip(np.round(level), 1, 5), 0).astype(np.int8)
    blocks = np.concatenate([rng.integers(2, 5, size=mentees), rng.integers(3, 8, size=mentors)])
    capacity = np.concatenate(
        [np.ones(mentees, dtype=np.int32), rng.integers(1, max_capacity + 1, size=mentors)]
    ).astype(np.int32)
    languages = np.where(rng.random(n) < 0.85, 1, 0).astype(np.uint64) | (
        np.uint64(1) << rng.integers(1, 6, size=n).astype(np.uint64)
    )
    department = rng.integers(1, 200, size=n).astype(np.int64)
    forbidden = np.zeros(0, dtype=np.int64)
    if managers:
        # Some juniors report to a senior in the pool: a conflict of interest.
        juniors = rng.choice(mentors, size=mentors // 10, replace=False) + mentees
        bosses = rng.integers(0, mentees, size=juniors.size)
        forbidden = np.unique(
            np.concatenate(
                [juniors.astype(np.int64) * n + bosses, bosses.astype(np.int64) * n + juniors]
            )
        )
    return Pool(
        refs=[f"p{row}" for row in range(n)],
        topics=list(TOPICS),
        stage=stage,
        profession=rng.integers(0, 9, size=n).astype(np.int8),
        institution=rng.integers(0, institutions, size=n).astype(np.int32),
        department=department,
        languages=languages,
        availability=_availability(rng, n, blocks),
        offers=offers,
        seeks=seeks,
        capacity=capacity,
        forbidden=forbidden,
    )


# What seniors teach back in peer circles (the boomerang side).
CLINICAL_TOPICS = ["clinical-reasoning", "teaching", "research-methods", "leadership"]


def synthetic_peer_pool(seniors: int, juniors: int, *, seed: int = 7) -> Pool:
    """A program where everyone teaches and learns: as `synthetic_pool` (seniors seek the
    digital topics juniors offer), and seniors also offer clinical topics that juniors
    seek. Everyone has one place: a person sits in one peer circle."""
    pool = synthetic_pool(seniors, juniors, seed=seed)
    rng = np.random.default_rng(seed + 1)
    n, extra = pool.size, len(CLINICAL_TOPICS)
    popularity = rng.dirichlet(np.ones(extra) * 2)
    offers = np.zeros((n, extra), dtype=np.int8)
    seeks = np.zeros((n, extra), dtype=np.int8)
    taught = _pick_topics(rng, seniors, popularity, rng.integers(1, 3, size=seniors))
    offers[:seniors][taught] = rng.integers(3, 6, size=int(taught.sum()))
    wanted = _pick_topics(rng, juniors, popularity, rng.integers(1, 3, size=juniors))
    seeks[seniors:][wanted] = rng.integers(1, 6, size=int(wanted.sum()))
    return replace(
        pool,
        topics=[*pool.topics, *CLINICAL_TOPICS],
        offers=np.concatenate([pool.offers, offers], axis=1),
        seeks=np.concatenate([pool.seeks, seeks], axis=1),
        capacity=np.ones(n, dtype=np.int32),
    )
