"""The sparse candidate graph: for each mentee, the best eligible (mentor, topic) pairs.

Eligibility is never a dense people x people matrix. Mentors are bucketed by (topic,
career stage, proficiency); a mentee visits only the buckets of topics it seeks at
stages it may be mentored from, and skips a bucket whose best possible score cannot
beat the mentee's current K-th best. Each mentee keeps its best K mentors (one topic
per mentor, the best one). The loop is compiled with numba and runs over mentees in
parallel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from telemachus.pairing.matching.availability import WORDS
from telemachus.pairing.matching.pool import Pool
from telemachus.pairing.matching.rules import Rules

I16 = npt.NDArray[np.int16]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]

LEVELS = 6  # stage / proficiency values 0..5
FIT_BASE = 4096  # packs (fit, topic, proficiency) in one sortable integer; topics < 682


@dataclass(frozen=True)
class CandidateGraph:
    """Edges grouped by mentee, best first: `mentor[start[k]:start[k+1]]` are the
    candidates of mentee row `mentees[k]`."""

    mentees: I32  # pool rows of people who seek a topic
    start: I64  # len(mentees) + 1
    mentor: I32  # pool rows
    topic: I16  # topic column
    score: I32
    mentor_capacity: I32  # places per pool row as a mentor this round

    @property
    def edges(self) -> int:
        return int(self.start[-1])

    def of(self, k: int) -> tuple[I32, I16, I32]:
        a, b = self.start[k], self.start[k + 1]
        return self.mentor[a:b], self.topic[a:b], self.score[a:b]


def _ctpop(typingctx, x):
    """LLVM's ctpop: one POPCNT instruction on the CPUs we run on."""
    signature = types.uint64(types.uint64)

    def codegen(context, builder, sig, args):
        ctpop = builder.module.declare_intrinsic("llvm.ctpop", [ir.IntType(64)])
        return builder.call(ctpop, args)

    return signature, codegen


_popcount: Any = intrinsic(_ctpop)


@numba.njit(cache=True, parallel=True)
def _search(
    stage,
    profession,
    institution,
    department,
    languages,
    availability,
    levels,
    forbidden,
    params,
    seekers,
    as_mentor,
    bucket_start,
    b_row,
    b_avail,
    b_known,
    b_prof,
    b_inst,
    b_lang,
    b_dept,
    k,
):
    """Best k (partner, topic) per seeker: a mentee looking for mentors (`levels` = what
    it seeks), or with `as_mentor` a mentor looking for mentees (`levels` = what it
    offers). Bucket arrays hold the other side's facts in bucket order, so the inner loop
    reads memory in sequence. Cheap terms are added first; the overlap popcount and the
    conflict lookups run only for a partner who could still make the list.
    """
    m = seekers.size
    topics = levels.shape[1]
    n = stage.size
    out_other = np.full((m, k), -1, dtype=np.int32)
    out_topic = np.zeros((m, k), dtype=np.int16)
    out_score = np.full((m, k), -1, dtype=np.int32)
    w_topic, w_avail, cap, w_prof, w_inst, w_lang = (
        params[0],
        params[1],
        params[2],
        params[3],
        params[4],
        params[5],
    )
    min_overlap, allow_equal, no_same_department = params[6], params[7], params[8]
    for q in numba.prange(m):
        me = seekers[q]
        h_other = out_other[q]
        h_topic = out_topic[q]
        h_score = out_score[q]
        filled = 0
        worst = 0  # the slot with the lowest score, once the list is full
        floor = -1  # the lowest score on a full list
        my_prof = profession[me]
        my_inst = institution[me]
        my_lang = languages[me]
        my_dept = department[me]
        my_stage = stage[me]
        mine = availability[me]
        my_half_hours = 0
        for w in range(WORDS):
            my_half_hours += _popcount(mine[w])
        avail_bound = w_avail * min(cap, my_half_hours // 2)
        bonus = avail_bound + w_prof + w_inst + w_lang
        # (topic, proficiency) in order of falling topic fit, across all sought topics, so
        # the list fills with strong pairs first and weaker buckets are skipped.
        fits = np.empty(topics * (LEVELS - 1), dtype=np.int64)
        count = 0
        for t in range(topics):
            if levels[me, t] > 0:
                for p in range(1, LEVELS):
                    fits[count] = (levels[me, t] * p) * FIT_BASE + t * LEVELS + p
                    count += 1
        order = np.sort(fits[:count])[::-1]
        for o in range(count):
            t = (order[o] % FIT_BASE) // LEVELS
            p = (order[o] % FIT_BASE) % LEVELS
            base = w_topic * (order[o] // FIT_BASE)
            if base + bonus <= floor:
                break  # every remaining bucket scores lower still
            # A mentor is at a lower career stage than its mentee (or equal, if allowed).
            s_first, s_last = (my_stage, LEVELS - 1) if as_mentor else (1, my_stage)
            for s in range(s_first, s_last + 1):
                b = (t * LEVELS + s) * LEVELS + p
                equal_stage = s == my_stage
                if equal_stage and not allow_equal:
                    continue
                for r in range(bucket_start[b], bucket_start[b + 1]):
                    # Branch-free: these terms are coin flips the CPU cannot predict.
                    differs = (b_prof[r] != my_prof) & (b_prof[r] >= 0) & (my_prof >= 0)
                    if equal_stage and not differs:
                        continue
                    sc = (
                        base
                        + w_prof * differs
                        + w_inst * (b_inst[r] != my_inst)
                        + w_lang * ((b_lang[r] & my_lang) != 0)
                    )
                    if sc + avail_bound <= floor:
                        continue
                    half_hours = 0
                    for w in range(WORDS):
                        half_hours += _popcount(b_avail[r, w] & mine[w])
                    # The minimum is checked when both shared their availability.
                    if half_hours < min_overlap and my_half_hours > 0 and b_known[r]:
                        continue
                    sc += w_avail * min(half_hours // 2, cap)
                    if sc <= floor:
                        continue
                    other = b_row[r]
                    if other == me:
                        continue
                    if no_same_department and my_dept != 0 and b_dept[r] == my_dept:
                        continue
                    if forbidden.size:
                        pair = (me, other) if as_mentor else (other, me)
                        code = np.int64(pair[0]) * n + pair[1]
                        at = np.searchsorted(forbidden, code)
                        if at < forbidden.size and forbidden[at] == code:
                            continue
                    seen = -1
                    for x in range(filled):
                        if h_other[x] == other:
                            seen = x
                            break
                    if seen >= 0:
                        if sc > h_score[seen]:
                            h_score[seen] = sc
                            h_topic[seen] = t
                    elif filled < k:
                        h_other[filled] = other
                        h_topic[filled] = t
                        h_score[filled] = sc
                        filled += 1
                    else:
                        h_other[worst] = other
                        h_topic[worst] = t
                        h_score[worst] = sc
                    if filled == k:
                        worst = 0
                        for x in range(1, k):
                            if h_score[x] < h_score[worst]:
                                worst = x
                        floor = h_score[worst]
    return out_other, out_topic, out_score


@dataclass(frozen=True)
class _Buckets:
    start: I64
    row: I32
    availability: npt.NDArray[np.uint64]
    known: npt.NDArray[np.bool_]  # shared any availability
    profession: npt.NDArray[np.int8]
    institution: I32
    languages: npt.NDArray[np.uint64]
    department: I64


def _buckets(pool: Pool, rows: I32, levels: npt.NDArray[np.int8]) -> _Buckets:
    """`rows` grouped by (topic, stage, level), with their facts copied in bucket order."""
    topics = levels.shape[1]
    mine = levels[rows]  # (rows, topics)
    who, topic = np.nonzero(mine)
    keys = (topic * LEVELS + pool.stage[rows][who]) * LEVELS + mine[who, topic]
    order = np.argsort(keys, kind="stable")
    counts = np.bincount(keys, minlength=topics * LEVELS * LEVELS)
    start = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=start[1:])
    rows = rows[who[order]].astype(np.int32)
    return _Buckets(
        start=start,
        row=rows,
        availability=np.ascontiguousarray(pool.availability[rows]),
        known=np.asarray(pool.availability[rows].any(axis=1)),
        profession=pool.profession[rows],
        institution=pool.institution[rows],
        languages=pool.languages[rows],
        department=pool.department[rows],
    )


def _best(
    pool: Pool, rules: Rules, seekers: I32, partners: I32, as_mentor: bool, k: int
) -> tuple[I32, npt.NDArray[np.int16], I32]:
    """(seekers, k) arrays of the best partner rows, topics and scores; -1 = none."""
    if len(topics := pool.topics) * LEVELS >= FIT_BASE:
        raise ValueError(
            f"a round handles at most {FIT_BASE // LEVELS - 1} topics, not {len(topics)}"
        )
    mine, theirs = (pool.offers, pool.seeks) if as_mentor else (pool.seeks, pool.offers)
    b = _buckets(pool, partners, theirs)
    result: tuple[I32, npt.NDArray[np.int16], I32] = _search(
        pool.stage,
        pool.profession,
        pool.institution,
        pool.department,
        pool.languages,
        pool.availability,
        mine,
        pool.forbidden,
        rule_params(rules),
        seekers,
        as_mentor,
        b.start,
        b.row,
        b.availability,
        b.known,
        b.profession,
        b.institution,
        b.languages,
        b.department,
        k,
    )
    return result


def rule_params(rules: Rules) -> I64:
    w = rules.weights
    return np.array(
        [
            w.topic,
            w.availability,
            w.availability_cap,
            w.different_profession,
            w.different_institution,
            w.shared_language,
            rules.min_overlap_hours * 2,
            int(rules.allow_equal_stage_across_professions),
            int(rules.exclude_same_department),
        ],
        dtype=np.int64,
    )


@numba.njit(cache=True, parallel=True)
def _join(mentees, down, down_topic, down_score, mentors, up, up_topic, up_score, capacity, n):
    """Each mentee's own list joined with the mentors' lists that name it, one edge per
    mentor, best first, keeping only mentors with a place left."""
    m = mentees.size
    position = np.full(n, -1, dtype=np.int64)
    for k in range(m):
        position[mentees[k]] = k
    incoming = np.zeros(m + 1, dtype=np.int64)
    for q in range(up.shape[0]):
        for x in range(up.shape[1]):
            if up[q, x] >= 0:
                incoming[position[up[q, x]] + 1] += 1
    for k in range(m):
        incoming[k + 1] += incoming[k]
    fill = incoming[:-1].copy()
    in_mentor = np.empty(incoming[-1], dtype=np.int32)
    in_topic = np.empty(incoming[-1], dtype=np.int16)
    in_score = np.empty(incoming[-1], dtype=np.int32)
    for q in range(up.shape[0]):
        for x in range(up.shape[1]):
            if up[q, x] >= 0:
                k = position[up[q, x]]
                in_mentor[fill[k]] = mentors[q]
                in_topic[fill[k]] = up_topic[q, x]
                in_score[fill[k]] = up_score[q, x]
                fill[k] += 1
    width = down.shape[1]
    count = np.zeros(m + 1, dtype=np.int64)
    keep_in = np.zeros(incoming[-1], dtype=np.bool_)  # a place left, and not listed already
    for k in numba.prange(m):
        c = 0
        for x in range(width):
            if down[k, x] >= 0 and capacity[down[k, x]] > 0:
                c += 1
        for y in range(incoming[k], incoming[k + 1]):
            keep_in[y] = capacity[in_mentor[y]] > 0 and not (down[k] == in_mentor[y]).any()
            c += keep_in[y]
        count[k + 1] = c
    for k in range(m):
        count[k + 1] += count[k]
    mentor = np.empty(count[-1], dtype=np.int32)
    topic = np.empty(count[-1], dtype=np.int16)
    score = np.empty(count[-1], dtype=np.int32)
    for k in numba.prange(m):
        at = count[k]
        for x in range(width):
            if down[k, x] >= 0 and capacity[down[k, x]] > 0:
                mentor[at] = down[k, x]
                topic[at] = down_topic[k, x]
                score[at] = down_score[k, x]
                at += 1
        for y in range(incoming[k], incoming[k + 1]):
            if keep_in[y]:
                mentor[at] = in_mentor[y]
                topic[at] = in_topic[y]
                score[at] = in_score[y]
                at += 1
        lo = count[k]
        order = np.argsort(-score[lo:at], kind="mergesort")
        mentor[lo:at] = mentor[lo:at][order]
        topic[lo:at] = topic[lo:at][order]
        score[lo:at] = score[lo:at][order]
    return count, mentor, topic, score


def generate(pool: Pool, rules: Rules) -> CandidateGraph:
    """The candidate graph of a pool under a program's rules.

    Each mentee's best `candidates_per_mentee` mentors, joined with the best
    `candidates_per_mentor` mentees of every mentor that fewer mentees listed. The
    mentor side matters: with correlated scores, every mentee's list names the same
    strong mentors, and without it many mentors would appear in nobody's list and many
    mentees would go unmatched for want of an edge, not of a mentor.

    A person who seeks a topic and has at least one candidate keeps one place for their
    own mentor; the rest of their capacity is offered as a mentor.
    """
    n = pool.size
    able = (pool.capacity > 0) & (pool.stage > 0)
    mentees = np.flatnonzero(pool.seeks.any(axis=1) & able).astype(np.int32)
    mentors = np.flatnonzero(pool.offers.any(axis=1) & able).astype(np.int32)
    down, down_topic, down_score = _best(
        pool, rules, mentees, mentors, False, rules.candidates_per_mentee
    )
    listed = np.bincount(down[down >= 0], minlength=n)
    lonely = mentors[listed[mentors] < rules.candidates_per_mentor]
    up, up_topic, up_score = _best(pool, rules, lonely, mentees, True, rules.candidates_per_mentor)
    capacity = np.where(pool.offers.any(axis=1) & able, pool.capacity, 0).astype(np.int32)
    has_candidates = np.zeros(n, dtype=bool)
    has_candidates[mentees[down[:, 0] >= 0]] = True
    has_candidates[up[up >= 0]] = True
    capacity[has_candidates] -= 1
    capacity = np.maximum(capacity, 0)
    start, mentor, topic, score = _join(
        mentees, down, down_topic, down_score, lonely, up, up_topic, up_score, capacity, n
    )
    return CandidateGraph(
        mentees=mentees,
        start=start,
        mentor=mentor,
        topic=topic,
        score=score,
        mentor_capacity=capacity,
    )
