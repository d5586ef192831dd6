"""Pairing's use cases, all listed in `handlers()`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from telemachus.pairing.domain import commands
from telemachus.pairing.domain.model import Candidate, Pairing, PairingStatus, Round, new_id
from telemachus.pairing.matching import greedy
from telemachus.pairing.service_layer.unit_of_work import PairingUnitOfWork
from telemachus.shared.errors import found
from telemachus.shared.runtime.bus import Handlers

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_person(candidate: Candidate) -> greedy.Person:
    return greedy.Person(
        ref=candidate.participant_ref,
        institution=candidate.home_institution,
        profession=candidate.profession.value if candidate.profession else None,
        career_stage=int(candidate.career_stage) if candidate.career_stage else None,
        offers={o.topic: o.proficiency for o in candidate.topics_offered},
        seeks={n.topic: n.priority for n in candidate.topics_sought},
        languages=frozenset(candidate.languages),
        capacity=candidate.max_relationships,
    )


class PairingHandlers:
    def __init__(self, institution: str, clock: Clock = utc_now) -> None:
        self.institution = institution
        self.clock = clock

    async def record_program(self, cmd: commands.RecordProgram, uow: PairingUnitOfWork) -> None:
        if await uow.programs.get(cmd.program.id) is None:
            uow.programs.add(cmd.program)

    async def add_candidate(self, cmd: commands.AddCandidate, uow: PairingUnitOfWork) -> None:
        # A re-enrolment after a redelivery or a profile refresh replaces the old entry.
        existing = await uow.candidates.get(cmd.candidate.id)
        if existing is None:
            uow.candidates.add(cmd.candidate)

    async def run_round(self, cmd: commands.RunRound, uow: PairingUnitOfWork) -> Round:
        program = found(
            await uow.programs.get(cmd.program_id),
            f"program {cmd.program_id} led by {self.institution}",
            field="program_id",
        )
        mode = cmd.mode or program.pairing_mode
        candidates = await uow.candidates.find({"program_id": program.id})
        earlier = await uow.pairings.find(
            {"program_id": program.id, "status": {"$ne": PairingStatus.DECLINED.value}}
        )
        excluded = {(p.mentor_ref, p.mentee_ref) for p in earlier}
        people = [as_person(c) for c in candidates]
        # People already in a live pairing count against their capacity.
        busy: dict[str, int] = {}
        for pairing in earlier:
            for ref in (pairing.mentor_ref, pairing.mentee_ref):
                busy[ref] = busy.get(ref, 0) + 1
        people = [
            greedy.Person(**{**vars(p), "capacity": p.capacity - busy.get(p.ref, 0)})
            for p in people
            if p.capacity - busy.get(p.ref, 0) > 0
        ]
        proposals, unmatched = greedy.propose(people, program.topics, excluded)
        now = self.clock()
        round_ = Round(
            id=new_id("round"),
            program_id=program.id,
            mode=mode,
            engine=greedy.ENGINE,
            created_at=now,
            pairing_ids=[],
            unmatched=unmatched,
        )
        for proposal in proposals:
            pairing = Pairing.propose(
                round_id=round_.id,
                program=program,
                mode=mode,
                mentor_ref=proposal.mentor,
                mentee_ref=proposal.mentee,
                topic=proposal.topic,
                score=proposal.score,
                explanation=proposal.explanation,
                now=now,
            )
            uow.pairings.add(pairing)
            round_.pairing_ids.append(pairing.id)
        uow.rounds.add(round_)
        return round_

    async def respond(self, cmd: commands.RespondToPairing, uow: PairingUnitOfWork) -> Pairing:
        pairing = found(
            await uow.pairings.get(cmd.pairing_id), f"pairing {cmd.pairing_id}", field="pairing_id"
        )
        pairing.respond(cmd.participant_ref, cmd.decision, self.clock())
        return pairing

    def handlers(self) -> Handlers:
        return {
            commands.RecordProgram: self.record_program,
            commands.AddCandidate: self.add_candidate,
            commands.RunRound: self.run_round,
            commands.RespondToPairing: self.respond,
        }
