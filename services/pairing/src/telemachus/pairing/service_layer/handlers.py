"""Pairing's use cases, all listed in `handlers()`."""

from __future__ import annotations

import asyncio
from datetime import datetime

from telemachus.pairing.domain import commands
from telemachus.pairing.domain.model import (
    Candidate,
    CircleSizes,
    Explanation,
    Pairing,
    PairingStatus,
    Program,
    ProposedPair,
    Round,
    RoundFormat,
    RoundStatus,
    ScoreTerm,
    new_id,
)
from telemachus.pairing.matching.explain import Explanation as EngineExplanation
from telemachus.pairing.matching.explain import PinRefused
from telemachus.pairing.matching.pool import Pool
from telemachus.pairing.service_layer import access, engines
from telemachus.pairing.service_layer.pools import engine_rules, round_pool
from telemachus.pairing.service_layer.unit_of_work import PairingUnitOfWork
from telemachus.shared.clock import Clock, utc_now
from telemachus.shared.contracts.vocabulary import PairingMode
from telemachus.shared.errors import Conflict, Forbidden, Rejected, found
from telemachus.shared.runtime.bus import Handlers, Prefetches

OPEN = [RoundStatus.DRAFT.value, RoundStatus.REVIEW.value]


def explanation_of(e: EngineExplanation) -> Explanation:
    return Explanation(
        topic=e.topic,
        score=e.score,
        terms=[ScoreTerm(name=t.name, points=t.points, detail=t.detail) for t in e.terms],
        rules=e.rules,
    )


class PairingHandlers:
    def __init__(self, institution: str, clock: Clock = utc_now) -> None:
        self.institution = institution
        self.clock = clock

    async def _program(self, uow: PairingUnitOfWork, program_id: str) -> Program:
        return found(
            await uow.programs.get(program_id),
            f"program {program_id} led by {self.institution}",
            field="program_id",
        )

    async def _round(self, uow: PairingUnitOfWork, round_id: str) -> tuple[Round, Program]:
        round_ = found(await uow.rounds.get(round_id), f"round {round_id}", field="round_id")
        return round_, await self._program(uow, round_.program_id)

    def _only_from(self, cmd: commands.Announced, institution: str, fact: str) -> None:
        """Authority: who may state a fact. A refusal dead-letters the event."""
        if cmd.announced_by != institution:
            raise Rejected(
                f"{cmd.announced_by} may not announce {fact}; only {institution} may",
                field="announced_by",
            )

    async def record_program(self, cmd: commands.RecordProgram, uow: PairingUnitOfWork) -> None:
        self._only_from(cmd, cmd.lead_institution, f"the terms of {cmd.program.id}")
        if cmd.lead_institution != self.institution:
            return  # another institution's pairing service owns that program
        existing = await uow.programs.get(cmd.program.id)
        if existing is None:
            uow.programs.add(cmd.program)
            return
        # Terms come from identity; the pairing rules are this service's own.
        for name in ("partner_institutions", "topics", "pairing_mode"):
            setattr(existing, name, getattr(cmd.program, name))
        existing.relationship_weeks = cmd.program.relationship_weeks
        existing.planned_sessions = cmd.program.planned_sessions

    async def set_rules(self, cmd: commands.SetRules, uow: PairingUnitOfWork) -> Program:
        program = await self._program(uow, cmd.program_id)
        access.require_lead_coordinator(cmd.principal, self.institution, program)
        program.rules = cmd.rules
        return program

    async def enter_pool(self, cmd: commands.EnterPool, uow: PairingUnitOfWork) -> None:
        c = cmd.candidate
        self._only_from(cmd, c.home_institution, f"the profile of {c.participant_ref}")
        if not c.participant_ref.startswith(f"{c.home_institution}:"):
            raise Rejected(
                f"{c.participant_ref} is not a person of {c.home_institution}",
                field="participant_ref",
            )
        program = await uow.programs.get(c.program_id)
        if program is not None and c.home_institution not in program.institutions(self.institution):
            raise Rejected(
                f"{c.home_institution} is not a partner of {c.program_id}",
                field="home_institution",
            )
        existing = await uow.candidates.get(cmd.candidate.id)
        if existing is None:
            uow.candidates.add(cmd.candidate)
            return
        for name in Candidate.model_fields:
            if name not in ("id", "version"):
                setattr(existing, name, getattr(cmd.candidate, name))

    async def leave_pool(self, cmd: commands.LeavePool, uow: PairingUnitOfWork) -> None:
        self._only_from(cmd, cmd.home_institution, f"the withdrawal of {cmd.participant_ref}")
        if not cmd.participant_ref.startswith(f"{cmd.home_institution}:"):
            raise Rejected(
                f"{cmd.participant_ref} is not a person of {cmd.home_institution}",
                field="participant_ref",
            )
        candidate = await uow.candidates.get(Candidate.key(cmd.program_id, cmd.participant_ref))
        if candidate is not None:
            uow.candidates.remove(candidate)
        now = self.clock()
        for pairing in await uow.pairings.find(
            {
                "program_id": cmd.program_id,
                "status": {"$in": [PairingStatus.PROPOSED.value, PairingStatus.CONFIRMED.value]},
                "$or": [
                    {"mentor_ref": cmd.participant_ref},
                    {"mentee_ref": cmd.participant_ref},
                ],
            }
        ):
            pairing.withdraw(now)
        for round_ in await uow.rounds.find({"program_id": cmd.program_id}):
            round_.forget(cmd.participant_ref)

    async def open_round(self, cmd: commands.OpenRound, uow: PairingUnitOfWork) -> Round:
        program = await self._program(uow, cmd.program_id)
        access.require_lead_coordinator(cmd.principal, self.institution, program)
        if await uow.rounds.find({"program_id": program.id, "status": {"$in": OPEN}}):
            raise Conflict(
                f"{program.id} already has an open round; publish it first", field="program_id"
            )
        mode = cmd.mode or program.pairing_mode
        circles_ = cmd.format is RoundFormat.CIRCLES
        if circles_ and mode is PairingMode.MIXED:
            raise Rejected(
                "circles are formed in assigned (optimal) or ranked (stable) rounds; "
                "mixed rounds pair people",
                field="mode",
            )
        round_ = Round(
            id=new_id("round"),
            program_id=program.id,
            mode=mode,
            proposers=cmd.proposers,
            format=cmd.format,
            circle_sizes=cmd.circle_sizes if circles_ else None,
            created_at=self.clock(),
            created_by=cmd.principal.subject,
        )
        uow.rounds.add(round_)
        return round_

    async def pin(self, cmd: commands.PinPair, uow: PairingUnitOfWork) -> Round:
        round_, program = await self._round(uow, cmd.round_id)
        access.require_lead_coordinator(cmd.principal, self.institution, program)
        round_.pin(cmd.pair)
        return round_

    async def exclude(self, cmd: commands.ExcludePair, uow: PairingUnitOfWork) -> Round:
        round_, program = await self._round(uow, cmd.round_id)
        access.require_lead_coordinator(cmd.principal, self.institution, program)
        round_.exclude(cmd.pair)
        return round_

    async def rank(self, cmd: commands.RankCandidates, uow: PairingUnitOfWork) -> Round:
        me = access.participant(cmd.principal)
        round_, program = await self._round(uow, cmd.round_id)
        if await uow.candidates.get(Candidate.key(program.id, me)) is None:
            raise Forbidden(f"{me} is not in the pool of {program.id}", field="round_id")
        round_.rank(me, list(cmd.ranked))
        return round_

    async def compute(self, cmd: commands.ComputeRound, uow: PairingUnitOfWork) -> Round:
        round_, program = await self._round(uow, cmd.round_id)
        access.require_lead_coordinator(cmd.principal, self.institution, program)
        now = self.clock()
        pool = round_pool(
            self.institution,
            program,
            await uow.candidates.find({"program_id": program.id}),
            await uow.pairings.find({"program_id": program.id}),
            round_,
            now.date(),
        )
        if round_.format is RoundFormat.CIRCLES:
            return await self._compute_circles(round_, program, pool, now)
        try:
            # Compiled code that runs for up to seconds: off the event loop.
            outcome = await asyncio.to_thread(
                engines.run_round,
                pool,
                engine_rules(program),
                round_.mode,
                pins=[(p.mentor_ref, p.mentee_ref) for p in round_.pins],
                rankings=round_.rankings,
                proposers=round_.proposers.value,
            )
        except PinRefused as refused:
            raise Rejected(str(refused), field="pins") from None
        proposals = [
            ProposedPair(
                mentor_ref=p.mentor,
                mentee_ref=p.mentee,
                topic=p.explanation.topic,
                score=p.explanation.score,
                explanation=explanation_of(p.explanation),
                pinned=p.pinned,
            )
            for p in outcome.proposals
        ]
        round_.record_outcome(outcome.engine, pool.size, proposals, outcome.unmatched, now)
        return round_

    async def _compute_circles(
        self, round_: Round, program: Program, pool: Pool, now: datetime
    ) -> Round:
        """Each circle becomes one proposed pair per member, the lead as mentor, all
        sharing a circle id; each member's line says why they are in that circle."""
        sizes = round_.circle_sizes or CircleSizes()
        formation = await asyncio.to_thread(
            engines.form_circles,
            pool,
            engine_rules(program),
            sizes.smallest,
            sizes.largest,
            "optimal" if round_.mode is PairingMode.ASSIGNED else "stable",
            round_.rankings,
        )
        proposals = []
        for circle in formation.circles:
            circle_id = new_id("circle")
            proposals += [
                ProposedPair(
                    mentor_ref=circle.lead,
                    mentee_ref=member.ref,
                    topic=circle.topic,
                    score=member.explanation.score,
                    explanation=explanation_of(member.explanation),
                    circle_id=circle_id,
                    why_this_circle=f"{circle.why} {member.why}",
                )
                for member in circle.members
            ]
        round_.record_outcome(formation.engine, pool.size, proposals, formation.unplaced, now)
        return round_

    async def publish(self, cmd: commands.PublishRound, uow: PairingUnitOfWork) -> Round:
        round_, program = await self._round(uow, cmd.round_id)
        access.require_lead_coordinator(cmd.principal, self.institution, program)
        # Someone may have left the pool since the review: their proposals are dropped.
        present = {c.participant_ref for c in await uow.candidates.find({"program_id": program.id})}
        kept = [p for p in round_.proposals if {p.mentor_ref, p.mentee_ref} <= present]
        for gone in round_.proposals:
            if gone not in kept:
                for ref in (gone.mentor_ref, gone.mentee_ref):
                    if ref not in present:
                        round_.unmatched[ref] = "left the program after the round was computed"
        round_.proposals = kept
        for pairing in round_.publish(program, self.clock()):
            uow.pairings.add(pairing)
        return round_

    async def respond(self, cmd: commands.RespondToPairing, uow: PairingUnitOfWork) -> Pairing:
        me = access.participant(cmd.principal)
        pairing = found(
            await uow.pairings.get(cmd.pairing_id), f"pairing {cmd.pairing_id}", field="pairing_id"
        )
        pairing.respond(me, cmd.decision, self.clock())
        return pairing

    async def expire_overdue(self, cmd: commands.ExpireOverdue, uow: PairingUnitOfWork) -> int:
        now = self.clock()
        # Dates are stored as ISO text; the comparison is made on datetimes, here.
        proposed = await uow.pairings.find({"status": PairingStatus.PROPOSED.value})
        return sum(p.expire(now) for p in proposed)

    async def rematch(self, cmd: commands.RequestRematch, uow: PairingUnitOfWork) -> None:
        self._only_from(cmd, self.institution, "the end of its relationships")
        pairing = await uow.pairings.get(cmd.pairing_id)
        if pairing is None or not pairing.involves(cmd.participant_ref):
            return  # not a pairing of ours: nothing to free
        pairing.end(self.clock())

    async def close(self, cmd: commands.CloseRelationship, uow: PairingUnitOfWork) -> None:
        self._only_from(cmd, self.institution, "the end of its relationships")
        pairing = await uow.pairings.get(cmd.pairing_id)
        if pairing is not None:
            pairing.end(self.clock())

    @staticmethod
    def prefetches() -> Prefetches:
        """What a batch of these commands reads, read at once (MessageBus)."""

        async def candidates(cmds: list[commands.EnterPool], uow: PairingUnitOfWork) -> None:
            await uow.candidates.load(c.candidate.id for c in cmds)

        async def pairings(cmds: list[commands.RespondToPairing], uow: PairingUnitOfWork) -> None:
            await uow.pairings.load(c.pairing_id for c in cmds)

        return {commands.EnterPool: candidates, commands.RespondToPairing: pairings}

    def handlers(self) -> Handlers:
        return {
            commands.RecordProgram: self.record_program,
            commands.SetRules: self.set_rules,
            commands.EnterPool: self.enter_pool,
            commands.LeavePool: self.leave_pool,
            commands.OpenRound: self.open_round,
            commands.PinPair: self.pin,
            commands.ExcludePair: self.exclude,
            commands.RankCandidates: self.rank,
            commands.ComputeRound: self.compute,
            commands.PublishRound: self.publish,
            commands.RespondToPairing: self.respond,
            commands.ExpireOverdue: self.expire_overdue,
            commands.RequestRematch: self.rematch,
            commands.CloseRelationship: self.close,
        }
