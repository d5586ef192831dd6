"""Ranked mode: a stable matching with capacities (deferred acceptance).

Participants rank each other; a pair is acceptable only if each ranks the other. The
result has no blocking pair: no mentee and mentor who both prefer each other to what
they got (a mentor with a free place prefers any acceptable mentee to none). Mentee-
proposing gives every mentee their best partner among all stable matchings; mentor-
proposing does the same for mentors.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numba
import numpy as np
import numpy.typing as npt

from telemachus.pairing.matching.kernel_cache import use_content_keyed_cache

# Before any kernel is decorated: numba picks a kernel's cache locator then.
use_content_keyed_cache()

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]


class Proposers(StrEnum):
    MENTEES = "mentees"  # mentee-optimal (the default)
    MENTORS = "mentors"  # mentor-optimal


@dataclass(frozen=True)
class Rankings:
    """Preference lists as CSR arrays over dense ids: mentees 0..M-1, mentors 0..N-1.

    `mentee_list[mentee_start[i]:mentee_start[i+1]]` are the mentors mentee i ranks,
    best first; likewise for mentors.
    """

    mentee_start: I64
    mentee_list: I32
    mentor_start: I64
    mentor_list: I32
    capacity: I32  # per mentor

    @property
    def mentees(self) -> int:
        return len(self.mentee_start) - 1

    @property
    def mentors(self) -> int:
        return len(self.mentor_start) - 1


@numba.njit(cache=True)
def _rank_of(owner_start, owner_list, other_start, other_list):
    """For each entry (a -> b) of the owner lists, b's rank of a, or -1 if b does not rank
    a. Linear: the other side's entries are grouped by whom they rank, and each owner's
    group is spread into a scratch array indexed by the other side's id."""
    owners = owner_start.size - 1
    others = other_start.size - 1
    in_start = np.zeros(owners + 1, dtype=np.int64)
    for k in range(other_list.size):
        in_start[other_list[k] + 1] += 1
    for a in range(owners):
        in_start[a + 1] += in_start[a]
    fill = in_start[:-1].copy()
    in_by = np.empty(other_list.size, dtype=np.int64)
    in_rank = np.empty(other_list.size, dtype=np.int64)
    for b in range(others):
        for k in range(other_start[b], other_start[b + 1]):
            a = other_list[k]
            in_by[fill[a]] = b
            in_rank[fill[a]] = k - other_start[b]
            fill[a] += 1
    scratch = np.full(others, -1, dtype=np.int64)
    their = np.full(owner_list.size, -1, dtype=np.int64)
    for a in range(owners):
        for k in range(in_start[a], in_start[a + 1]):
            scratch[in_by[k]] = in_rank[k]
        for e in range(owner_start[a], owner_start[a + 1]):
            their[e] = scratch[owner_list[e]]
        for k in range(in_start[a], in_start[a + 1]):
            scratch[in_by[k]] = -1
    return their


@numba.njit(cache=True)
def _mentees_propose(start, prefs, their_rank, capacity, mentors):
    m = start.size - 1
    next_choice = start[:-1].copy()
    # Each mentor holds up to capacity mentees; entries are (rank, mentee).
    slot_start = np.zeros(mentors + 1, dtype=np.int64)
    for j in range(mentors):
        slot_start[j + 1] = slot_start[j] + capacity[j]
    held_rank = np.full(slot_start[-1], -1, dtype=np.int64)
    held_by = np.full(slot_start[-1], -1, dtype=np.int64)
    count = np.zeros(mentors, dtype=np.int64)
    partner = np.full(m, -1, dtype=np.int64)
    free = np.arange(m - 1, -1, -1).astype(np.int64)  # a stack of mentees to place
    top = m
    while top > 0:
        top -= 1
        i = free[top]
        while next_choice[i] < start[i + 1]:
            e = next_choice[i]
            next_choice[i] += 1
            rank = their_rank[e]
            if rank < 0:
                continue  # the mentor does not rank this mentee
            j = prefs[e]
            lo = slot_start[j]
            if capacity[j] == 0:
                continue
            if count[j] < capacity[j]:
                held_rank[lo + count[j]] = rank
                held_by[lo + count[j]] = i
                count[j] += 1
                partner[i] = j
                break
            worst = lo
            for s in range(lo + 1, lo + capacity[j]):
                if held_rank[s] > held_rank[worst]:
                    worst = s
            if rank < held_rank[worst]:
                loser = held_by[worst]
                partner[loser] = -1
                held_rank[worst] = rank
                held_by[worst] = i
                partner[i] = j
                free[top] = loser
                top += 1
                break
    return partner


@numba.njit(cache=True)
def _mentors_propose(start, prefs, their_rank, capacity, mentees):
    n = start.size - 1
    next_choice = start[:-1].copy()
    partner_of_mentee = np.full(mentees, -1, dtype=np.int64)
    partner_rank = np.full(mentees, -1, dtype=np.int64)
    holding = np.zeros(n, dtype=np.int64)
    queue = np.empty(n + 1, dtype=np.int64)
    waiting = np.zeros(n, dtype=np.bool_)
    head = 0
    tail = 0
    for j in range(n):
        if capacity[j] > 0:
            queue[tail % (n + 1)] = j
            tail += 1
            waiting[j] = True
    while head != tail:
        j = queue[head % (n + 1)]
        head += 1
        waiting[j] = False
        while holding[j] < capacity[j] and next_choice[j] < start[j + 1]:
            e = next_choice[j]
            next_choice[j] += 1
            rank = their_rank[e]
            if rank < 0:
                continue
            i = prefs[e]
            current = partner_of_mentee[i]
            if current < 0 or rank < partner_rank[i]:
                if current >= 0:
                    holding[current] -= 1
                    if not waiting[current]:
                        queue[tail % (n + 1)] = current
                        tail += 1
                        waiting[current] = True
                partner_of_mentee[i] = j
                partner_rank[i] = rank
                holding[j] += 1
    return partner_of_mentee


def stable_matching(rankings: Rankings, proposers: Proposers = Proposers.MENTEES) -> I64:
    """The mentor (dense id) of every mentee, -1 for none."""
    r = rankings
    if proposers is Proposers.MENTEES:
        their_rank = _rank_of(r.mentee_start, r.mentee_list, r.mentor_start, r.mentor_list)
        result: I64 = _mentees_propose(
            r.mentee_start, r.mentee_list, their_rank, r.capacity.astype(np.int64), r.mentors
        )
        return result
    their_rank = _rank_of(r.mentor_start, r.mentor_list, r.mentee_start, r.mentee_list)
    result = _mentors_propose(
        r.mentor_start, r.mentor_list, their_rank, r.capacity.astype(np.int64), r.mentees
    )
    return result


def blocking_pairs(rankings: Rankings, partner: I64, limit: int = 10) -> list[tuple[int, int]]:
    """Pairs (mentee, mentor) that would both rather be together: an independent check,
    written for clarity, not speed."""
    r = rankings
    mentee_rank = [
        {int(j): k for k, j in enumerate(r.mentee_list[r.mentee_start[i] : r.mentee_start[i + 1]])}
        for i in range(r.mentees)
    ]
    mentor_rank = [
        {int(i): k for k, i in enumerate(r.mentor_list[r.mentor_start[j] : r.mentor_start[j + 1]])}
        for j in range(r.mentors)
    ]
    held: list[list[int]] = [[] for _ in range(r.mentors)]
    for i, j in enumerate(partner):
        if j >= 0:
            held[int(j)].append(i)
    found = []
    for i in range(r.mentees):
        mine = int(partner[i])
        for j, rank in mentee_rank[i].items():
            if mine >= 0 and rank >= mentee_rank[i][mine]:
                continue  # i is at least as happy now
            if i not in mentor_rank[j]:
                continue
            beaten = any(mentor_rank[j][i] < mentor_rank[j][h] for h in held[j])
            if len(held[j]) < r.capacity[j] or beaten:
                found.append((i, j))
            if len(found) >= limit:
                return found
    return found
