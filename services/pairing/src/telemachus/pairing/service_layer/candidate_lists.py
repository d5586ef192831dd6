"""A participant's candidates in an open round, with explanations: what they rank from."""

from __future__ import annotations

import asyncio
from datetime import date

import numpy as np
from pydantic import BaseModel

from telemachus.pairing.domain.model import Explanation, Program, Round
from telemachus.pairing.matching.explain import best_topic, explain
from telemachus.pairing.service_layer import engines
from telemachus.pairing.service_layer.handlers import explanation_of
from telemachus.pairing.service_layer.pools import engine_rules, round_pool
from telemachus.pairing.service_layer.views import PairingViews


class CandidateView(BaseModel):
    participant_ref: str
    role: str  # what the candidate would be to you: "mentor" or "mentee"
    explanation: Explanation


async def candidate_list(
    views: PairingViews, lead: str, program: Program, round_: Round, ref: str, today: date
) -> list[CandidateView]:
    pool = round_pool(
        lead,
        program,
        await views.pool(program.id),
        await views.pairings(program.id),
        round_,
        today,
    )
    rules = engine_rules(program)
    graph = await asyncio.to_thread(engines.candidates_of, pool, rules)
    row = pool.index().get(ref)
    if row is None:
        return []
    found: list[tuple[int, int, str]] = []  # (score, other row, their role)
    k = int(np.searchsorted(graph.mentees, row))
    if k < len(graph.mentees) and graph.mentees[k] == row:
        for j, _, s in zip(*graph.of(k), strict=True):
            found.append((int(s), int(j), "mentor"))
    owners = np.repeat(np.arange(len(graph.mentees)), np.diff(graph.start))
    for e in np.flatnonzero(graph.mentor == row):
        found.append((int(graph.score[e]), int(graph.mentees[owners[e]]), "mentee"))
    found.sort(key=lambda x: (-x[0], pool.refs[x[1]]))
    views_out = []
    for _, other, role in found:
        mentor, mentee = (other, row) if role == "mentor" else (row, other)
        topic, _ = best_topic(pool, rules, mentor, mentee)
        views_out.append(
            CandidateView(
                participant_ref=pool.refs[other],
                role=role,
                explanation=explanation_of(explain(pool, rules, mentor, mentee, topic)),
            )
        )
    return views_out
