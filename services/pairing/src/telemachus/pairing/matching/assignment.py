"""Assigned mode: an optimal matching with capacities on the candidate graph.

Mentees take at most one mentor each; mentor j takes at most `capacity[j]`. By default
the matching has the most mentees possible and, among those, the highest total score;
a program may instead maximise the total score alone.

The solver is an auction (Bertsekas) with epsilon-scaling, for objects with capacity
("similar objects": a mentor with k places is k slots with their own prices). Every
mentee has a private "unmatched" option worth 0, so every mentee is always assigned;
mentor slots may stay empty. An empty slot must end at price 0 for the result to be
optimal, so each phase ends with reverse-auction steps (Bertsekas and Castanon, 1992)
that either fill an empty slot with a priced mentee or lower its price to 0.

Benefits are integers scaled by (mentees + 1) and the last phase runs at epsilon 1, so
epsilon-complementary slackness gives the exact optimum, not an approximation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

from telemachus.pairing.matching.candidates import CandidateGraph
from telemachus.pairing.matching.kernel_cache import use_content_keyed_cache
from telemachus.pairing.matching.rules import Objective

# Before any kernel is decorated: numba picks a kernel's cache locator then.
use_content_keyed_cache()

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]

DUMMY = -1  # "unmatched this round"
SCALING = 8  # epsilon shrinks by this factor per phase


@dataclass(frozen=True)
class Assignment:
    """`mentor_of[k]` (pool row, or -1) and `edge_of[k]` for mentee `graph.mentees[k]`."""

    mentor_of: I32
    edge_of: I64

    @property
    def matched(self) -> int:
        return int((self.mentor_of >= 0).sum())


def lexicographic_weight(scores: I32, mentees: int, objective: Objective) -> I64:
    """Edge weights whose maximum-weight matching is the program's objective.

    For most-matched, every edge gets a bonus larger than any total score difference an
    augmenting path can make, (max - min score) x (mentees + 1), so one more matched
    mentee always outweighs any gain in score.
    """
    weights = scores.astype(np.int64)
    if objective is Objective.MOST_MATCHED and scores.size:
        spread = int(scores.max()) - int(scores.min())
        weights = weights + (spread * (mentees + 1) + 1)
    return weights


@numba.njit(cache=True)
def _cheapest_two(prices, first, last):
    best = first
    second = -1
    for s in range(first + 1, last):
        if prices[s] < prices[best]:
            second = best
            best = s
        elif second < 0 or prices[s] < prices[second]:
            second = s
    return best, second


@numba.njit(cache=True)
def _auction(start, mentor, benefit, slot_start, t_start, t_mentee, t_edge, t_benefit):
    m = start.size - 1
    slots = slot_start[-1]
    price = np.zeros(slots, dtype=np.int64)
    owner = np.full(slots, -1, dtype=np.int64)  # mentee holding a slot
    held = np.full(m, -1, dtype=np.int64)  # slot held by a mentee, -1 = unmatched
    via = np.full(m, -1, dtype=np.int64)  # edge of that slot
    profit = np.zeros(m, dtype=np.int64)
    slot_mentor = np.empty(slots, dtype=np.int64)
    for j in range(slot_start.size - 1):
        for s in range(slot_start[j], slot_start[j + 1]):
            slot_mentor[s] = j
    top = 0
    for e in range(benefit.size):
        top = max(top, benefit[e])
    epsilon = max(1, top // SCALING)
    queue = np.empty(m, dtype=np.int64)
    stack = np.empty(slots, dtype=np.int64)
    # The cheapest slot price of each mentor: what a bidder compares.
    cheapest = np.zeros(slot_start.size - 1, dtype=np.int64)
    unmatched_ok = np.zeros(m, dtype=np.bool_)  # settled on "unmatched" in a phase
    phases = 0
    while True:
        # Forward auction. A mentee keeps its slot from the last phase while that still
        # satisfies epsilon-complementary slackness at the new epsilon; the rest bid.
        head, tail = 0, 0  # circular queue of mentees to (re)bid
        for i in range(m):
            if phases > 0 and held[i] >= 0:
                best = np.int64(0)
                for e in range(start[i], start[i + 1]):
                    if benefit[e] <= best:
                        break
                    best = max(best, benefit[e] - cheapest[mentor[e]])
                if profit[i] >= best - epsilon:
                    continue
                owner[held[i]] = -1
                held[i] = -1
            elif phases > 0 and held[i] < 0 and unmatched_ok[i]:
                best = np.int64(0)
                for e in range(start[i], start[i + 1]):
                    if benefit[e] <= best:
                        break
                    best = max(best, benefit[e] - cheapest[mentor[e]])
                if best <= epsilon:
                    continue
            queue[tail % m] = i
            tail += 1
        waiting = tail
        while waiting > 0:
            i = queue[head % m]
            head += 1
            waiting -= 1
            best_value = np.int64(0)  # the unmatched option
            best_edge = -1
            second_value = np.int64(-(2**62))
            for e in range(start[i], start[i + 1]):
                if benefit[e] <= second_value:
                    break  # edges come best first and prices are never negative
                value = benefit[e] - cheapest[mentor[e]]
                if value > best_value:
                    second_value = best_value
                    best_value = value
                    best_edge = e
                elif value > second_value:
                    second_value = value
            if best_edge < 0:
                held[i] = -1
                via[i] = -1
                profit[i] = 0
                unmatched_ok[i] = True
                continue
            j = mentor[best_edge]
            s, s2 = _cheapest_two(price, slot_start[j], slot_start[j + 1])
            if s2 >= 0:
                second_value = max(second_value, benefit[best_edge] - price[s2])
            price[s] += best_value - second_value + epsilon
            cheapest[j] = price[_cheapest_two(price, slot_start[j], slot_start[j + 1])[0]]
            previous = owner[s]
            owner[s] = i
            held[i] = s
            via[i] = best_edge
            profit[i] = benefit[best_edge] - price[s]
            if previous >= 0:
                held[previous] = -1
                queue[tail % m] = previous
                tail += 1
                waiting += 1
        # Reverse auction: an empty slot with a price either takes a mentee who gains by
        # moving, or drops to price 0.
        depth = 0
        for s in range(slots):
            if owner[s] < 0 and price[s] > 0:
                stack[depth] = s
                depth += 1
        while depth > 0:
            depth -= 1
            s = stack[depth]
            if owner[s] >= 0 or price[s] == 0:
                continue
            j = slot_mentor[s]
            best_beta = np.int64(-(2**62))
            second_beta = np.int64(-(2**62))
            best_k = -1
            for k in range(t_start[j], t_start[j + 1]):
                if t_benefit[k] + epsilon <= second_beta:
                    break  # best first, and no profit is below -epsilon
                i = t_mentee[k]
                beta = t_benefit[k] - profit[i]
                if beta > best_beta:
                    second_beta = best_beta
                    best_beta = beta
                    best_k = k
                elif beta > second_beta:
                    second_beta = beta
            if best_k < 0 or best_beta <= epsilon:
                price[s] = 0
                cheapest[j] = 0
                continue
            price[s] = max(np.int64(0), second_beta - epsilon)
            cheapest[j] = price[_cheapest_two(price, slot_start[j], slot_start[j + 1])[0]]
            i = t_mentee[best_k]
            left = held[i]
            owner[s] = i
            held[i] = s
            via[i] = t_edge[best_k]
            profit[i] = benefit[t_edge[best_k]] - price[s]
            if left >= 0:
                owner[left] = -1
                if price[left] > 0:
                    stack[depth] = left
                    depth += 1
        phases += 1
        if epsilon == 1:
            break
        epsilon = max(1, epsilon // SCALING)
    return held, via, slot_mentor


@numba.njit(cache=True)
def _transpose(dense, weight, mentors):
    """Edges grouped by mentor, heaviest first: a counting sort by weight, then a stable
    counting sort by mentor (weights of one round take few distinct values)."""
    low, high = weight.min(), weight.max()
    by_weight = np.zeros(high - low + 2, dtype=np.int64)
    for e in range(weight.size):
        by_weight[high - weight[e] + 1] += 1
    for v in range(1, by_weight.size):
        by_weight[v] += by_weight[v - 1]
    heaviest_first = np.empty(weight.size, dtype=np.int64)
    for e in range(weight.size):
        v = high - weight[e]
        heaviest_first[by_weight[v]] = e
        by_weight[v] += 1
    t_start = np.zeros(mentors + 1, dtype=np.int64)
    for e in range(dense.size):
        t_start[dense[e] + 1] += 1
    for j in range(mentors):
        t_start[j + 1] += t_start[j]
    fill = t_start[:-1].copy()
    t_edge = np.empty(weight.size, dtype=np.int64)
    for e in heaviest_first:
        j = dense[e]
        t_edge[fill[j]] = e
        fill[j] += 1
    return t_start, t_edge


def solve(
    graph: CandidateGraph,
    objective: Objective = Objective.MOST_MATCHED,
    pinned: dict[int, int] | None = None,
) -> Assignment:
    """The optimal assignment on `graph`; `pinned` fixes mentee index k -> pool row.

    Pins are taken out first (their mentor loses a place), then the rest is solved
    optimally around them.
    """
    m = len(graph.mentees)
    capacity = graph.mentor_capacity.astype(np.int64).copy()
    pinned = pinned or {}
    degree = np.diff(graph.start)
    owner_of_edge = np.repeat(np.arange(m, dtype=np.int64), degree)
    keep = np.ones(graph.edges, dtype=bool)
    for k, row in pinned.items():
        capacity[row] -= 1
        keep[graph.start[k] : graph.start[k + 1]] = False
    keep &= capacity[graph.mentor] > 0
    edge_ids = np.flatnonzero(keep)
    kept_mentor = graph.mentor[edge_ids]
    # Mentors are renumbered densely so slot arrays cover only mentors with edges.
    present = np.zeros(capacity.size, dtype=bool)
    present[kept_mentor] = True
    used = np.flatnonzero(present)
    dense = (np.cumsum(present) - 1)[kept_mentor]
    kept_owner = owner_of_edge[edge_ids]
    start = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(kept_owner, minlength=m), out=start[1:])
    weight = lexicographic_weight(graph.score[edge_ids], m, objective)
    benefit = weight * (m + 1)
    slot_start = np.zeros(used.size + 1, dtype=np.int64)
    np.cumsum(capacity[used], out=slot_start[1:])
    if edge_ids.size:
        t_start, t_edge = _transpose(dense, weight, used.size)
    else:
        t_start, t_edge = np.zeros(used.size + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    held, via, slot_mentor = _auction(
        start,
        dense.astype(np.int32),
        benefit,
        slot_start,
        t_start,
        kept_owner[t_edge].astype(np.int32),
        t_edge,
        benefit[t_edge],  # in mentor order, so the reverse scans read memory in sequence
    )
    mentor_of = np.full(m, DUMMY, dtype=np.int32)
    edge_of = np.full(m, -1, dtype=np.int64)
    matched = held >= 0
    mentor_of[matched] = used[slot_mentor[held[matched]]]
    edge_of[matched] = edge_ids[via[matched]]
    for k, row in pinned.items():
        mentor_of[k] = row
        own = np.arange(graph.start[k], graph.start[k + 1])
        hits = own[graph.mentor[own] == row]
        edge_of[k] = hits[0] if hits.size else -1
    return Assignment(mentor_of=mentor_of, edge_of=edge_of)
