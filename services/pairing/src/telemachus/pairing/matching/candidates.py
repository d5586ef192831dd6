"""The sparse candidate graph: for each mentee, the best eligible (mentor, topic) pairs.

Eligibility is never a dense people x people matrix. Mentors are bucketed by (topic,
career stage, proficiency); a mentee visits only the buckets of topics it seeks at
stages it may be mentored from, and skips a bucket whose best possible score cannot
beat the mentee's current K-th best. Each mentee keeps its best K mentors (one topic
per mentor, the best one). The loop is compiled with numba and runs over mentees in
parallel.

Within a bucket, most mentors fall short of the K-th best by their shared hours alone
(measured at 100,000: 3,647 rows looked at per mentee, 110 kept). So each bucket also
holds, per 64 rows and per half-hour of the week, which of the rows are free then; a
mentee counts its own half-hours over those words (a bit-sliced counter, 64 rows at a
time) and looks only at rows free long enough to still beat its list (182 per mentee).
The rows looked at are a subset, in the same order, so the lists are the same.
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
from telemachus.pairing.matching.kernel_cache import use_content_keyed_cache
from telemachus.pairing.matching.pool import Pool
from telemachus.pairing.matching.rules import Rules

# Before any kernel is decorated: numba picks a kernel's cache locator then.
use_content_keyed_cache()

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


def _cttz(typingctx, x):
    """LLVM's cttz: the index of the lowest set bit (TZCNT); `x` is never 0 here. Typed
    int64, so index arithmetic stays integral (int64 + uint64 is a float in numba)."""
    signature = types.int64(types.uint64)

    def codegen(context, builder, sig, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 1))

    return signature, codegen


_lowest_bit: Any = intrinsic(_cttz)

COUNTED = 32  # the bit-sliced counter tells apart counts 0..31, and "32 or more"


@numba.njit(inline="always")
def _free_at_least(free, hours, th):
    """Which of 64 rows are free in at least `th` (< COUNTED) of `hours`: `free[h]` says
    which rows are free in half-hour h. Each row's count is kept across the same bit of
    c0..c4 (binary, added one half-hour at a time), c5 once it passed 31."""
    c0 = c1 = c2 = c3 = c4 = c5 = np.uint64(0)
    for x in range(hours.size):
        v = free[hours[x]]
        carry = c0 & v
        c0 ^= v
        v = c1 & carry
        c1 ^= carry
        carry = c2 & v
        c2 ^= v
        v = c3 & carry
        c3 ^= carry
        carry = c4 & v
        c4 ^= v
        c5 |= carry
    # Compare each row's count with th, from the highest bit down.
    above = c5
    equal = ~c5
    for i, c in ((4, c4), (3, c3), (2, c2), (1, c1), (0, c0)):
        if (th >> i) & 1:
            equal &= c
        else:
            above |= equal & c
            equal &= ~c
    return above | equal


@numba.njit(inline="always")
def _rows_worth_reading(free, unknown, hours, need, w_avail, cap, min_overlap):
    """Of a word's 64 rows, those with enough half-hours in common with `hours` to beat
    the floor, where `need` is the floor minus every other term at its most; and whether
    no row of the bucket can any more. The floor only rises, so a row left out now would
    be refused later too."""
    if need < 0:
        by_score = 0
    elif w_avail <= 0 or w_avail * cap <= need:
        return np.uint64(0), True
    else:
        by_score = 2 * (need // w_avail + 1)  # hours count in whole hours
    if hours.size == 0:
        # Nothing in common with anyone, and no minimum applies.
        return ~np.uint64(0), by_score > 0
    th = max(by_score, min_overlap)
    if th <= 0 or th >= COUNTED:
        return ~np.uint64(0), False  # every row is checked in full
    rows = _free_at_least(free, hours, th)
    if by_score == 0:
        rows |= unknown  # the minimum does not apply to those who gave no hours
    return rows, False


@numba.njit(inline="always")
def _sift_down(h_other, h_topic, h_score, slot, i, size):
    """Restore the min-heap on score below slot i, keeping `slot` (partner -> its
    place in the list) in step."""
    while True:
        low = i
        left = 2 * i + 1
        if left < size and h_score[left] < h_score[low]:
            low = left
        if left + 1 < size and h_score[left + 1] < h_score[low]:
            low = left + 1
        if low == i:
            return
        h_other[i], h_other[low] = h_other[low], h_other[i]
        h_topic[i], h_topic[low] = h_topic[low], h_topic[i]
        h_score[i], h_score[low] = h_score[low], h_score[i]
        slot[h_other[i]] = i
        slot[h_other[low]] = low
        i = low


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
    word_start,
    b_free,
    b_unknown,
    k,
    every_row,
    slot_of,
):
    """Best k (partner, topic) per seeker: a mentee looking for mentors (`levels` = what
    it seeks), or with `as_mentor` a mentor looking for mentees (`levels` = what it
    offers). Bucket arrays hold the other side's facts in bucket order, so the inner loop
    reads memory in sequence. Per 64 rows of a bucket, `b_free` says who is free in each
    half-hour and `b_unknown` who shared no availability: rows that cannot have enough
    hours in common to make the list are never looked at (with `every_row` they are:
    the plain scan, which gives the same lists, kept as the benchmark's baseline). Cheap
    terms are added first;
    the overlap popcount and the conflict lookups run only for a partner who could still
    make the list.
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
    extra = w_prof + w_inst + w_lang  # the most the terms other than topic and hours add
    for q in numba.prange(m):
        me = seekers[q]
        h_other = out_other[q]
        h_topic = out_topic[q]
        h_score = out_score[q]
        filled = 0
        floor = -1  # the lowest score on a full list, at its heap's root
        slot = slot_of[numba.get_thread_id()]  # where a partner sits in h_other
        my_prof = profession[me]
        my_inst = institution[me]
        my_lang = languages[me]
        my_dept = department[me]
        my_stage = stage[me]
        mine = availability[me]
        my_hours = np.empty(WORDS * 64, dtype=np.int64)  # the half-hours I am free
        my_half_hours = 0
        for w in range(WORDS):
            v = mine[w]
            while v:
                my_hours[my_half_hours] = w * 64 + _lowest_bit(v)
                my_half_hours += 1
                v &= v - np.uint64(1)
        hours = my_hours[:my_half_hours]
        avail_bound = w_avail * min(cap, my_half_hours // 2)
        bonus = avail_bound + extra
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
                first, end = bucket_start[b], bucket_start[b + 1]
                for wd in range(word_start[b], word_start[b + 1]):
                    if every_row:
                        rows = ~np.uint64(0)
                    else:
                        rows, done = _rows_worth_reading(
                            b_free[wd],
                            b_unknown[wd],
                            hours,
                            floor - base - extra,
                            w_avail,
                            cap,
                            min_overlap,
                        )
                        if done:
                            break  # no row left in this bucket can make the list
                    at = first + (wd - word_start[b]) * 64
                    while rows:
                        r = at + _lowest_bit(rows)
                        rows &= rows - np.uint64(1)
                        if r >= end:
                            break
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
                            found = np.searchsorted(forbidden, code)
                            if found < forbidden.size and forbidden[found] == code:
                                continue
                        # Listed already (under another topic)? `slot` may hold a
                        # stale slot from an earlier seeker; the list itself confirms.
                        at_slot = slot[other]
                        if at_slot < filled and h_other[at_slot] == other:
                            if sc > h_score[at_slot]:
                                h_score[at_slot] = sc
                                h_topic[at_slot] = t
                                if filled == k:
                                    _sift_down(h_other, h_topic, h_score, slot, at_slot, k)
                        elif filled < k:
                            h_other[filled] = other
                            h_topic[filled] = t
                            h_score[filled] = sc
                            slot[other] = filled
                            filled += 1
                            if filled == k:
                                for x in range(k // 2 - 1, -1, -1):
                                    _sift_down(h_other, h_topic, h_score, slot, x, k)
                        else:
                            h_other[0] = other
                            h_topic[0] = t
                            h_score[0] = sc
                            slot[other] = 0
                            _sift_down(h_other, h_topic, h_score, slot, 0, k)
                        if filled == k:
                            floor = h_score[0]
    return out_other, out_topic, out_score


@numba.njit(cache=True)
def _free_words(bucket_start, b_avail, b_known):
    """Per 64 rows of each bucket: for each half-hour, which rows are free then; and
    which rows shared no availability at all."""
    buckets = bucket_start.size - 1
    word_start = np.zeros(buckets + 1, dtype=np.int64)
    for b in range(buckets):
        word_start[b + 1] = word_start[b] + (bucket_start[b + 1] - bucket_start[b] + 63) // 64
    free = np.zeros((word_start[-1], WORDS * 64), dtype=np.uint64)
    unknown = np.zeros(word_start[-1], dtype=np.uint64)
    for b in range(buckets):
        for r in range(bucket_start[b], bucket_start[b + 1]):
            i = r - bucket_start[b]
            wd = word_start[b] + i // 64
            bit = np.uint64(1) << np.uint64(i % 64)
            if not b_known[r]:
                unknown[wd] |= bit
            for w in range(WORDS):
                v = b_avail[r, w]
                while v:
                    free[wd, w * 64 + _lowest_bit(v)] |= bit
                    v &= v - np.uint64(1)
    return word_start, free, unknown


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
    word_start: I64  # per bucket: where its words begin in `free` and `unknown`
    free: npt.NDArray[np.uint64]  # (words, half-hours): rows of the word free then
    unknown: npt.NDArray[np.uint64]  # (words,): rows of the word that gave no hours


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
    availability = np.ascontiguousarray(pool.availability[rows])
    known = np.asarray(availability.any(axis=1))
    word_start, free, unknown = _free_words(start, availability, known)
    return _Buckets(
        start=start,
        row=rows,
        availability=availability,
        known=known,
        profession=pool.profession[rows],
        institution=pool.institution[rows],
        languages=pool.languages[rows],
        department=pool.department[rows],
        word_start=word_start,
        free=free,
        unknown=unknown,
    )


def _best(
    pool: Pool,
    rules: Rules,
    seekers: I32,
    partners: I32,
    as_mentor: bool,
    k: int,
    every_row: bool = False,
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
        b.word_start,
        b.free,
        b.unknown,
        k,
        every_row,
        # One partner -> list slot index per thread, reused across seekers.
        np.zeros((numba.get_num_threads(), pool.size), dtype=np.int32),
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


def generate(pool: Pool, rules: Rules, *, every_row: bool = False) -> CandidateGraph:
    """The candidate graph of a pool under a program's rules (`every_row`: by the plain
    scan of every bucket row, the baseline the benchmark measures the search against).

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
        pool, rules, mentees, mentors, False, rules.candidates_per_mentee, every_row
    )
    listed = np.bincount(down[down >= 0], minlength=n)
    lonely = mentors[listed[mentors] < rules.candidates_per_mentor]
    up, up_topic, up_score = _best(
        pool, rules, lonely, mentees, True, rules.candidates_per_mentor, every_row
    )
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
