"""HTTP API of pairing: rules, pools, rounds, candidates, rankings, proposals, answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict

from telemachus.pairing.domain import commands
from telemachus.pairing.domain.model import (
    Candidate,
    CircleSizes,
    Decision,
    Pairing,
    PairingRules,
    PairRef,
    Program,
    Proposers,
    Round,
    RoundFormat,
)
from telemachus.pairing.service_layer import access
from telemachus.pairing.service_layer.candidate_lists import CandidateView, candidate_list
from telemachus.pairing.service_layer.handlers import utc_now
from telemachus.pairing.service_layer.views import PairingViews
from telemachus.shared.contracts.vocabulary import PairingMode, ParticipantRef
from telemachus.shared.errors import Forbidden, found
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.paging import PAGED, Page
from telemachus.shared.runtime.views import led_programs
from telemachus.shared.security.tokens import Principal


class Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OpenRoundRequest(Body):
    mode: PairingMode | None = None
    proposers: Proposers = Proposers.MENTEES
    format: RoundFormat = RoundFormat.PAIRS
    circle_sizes: CircleSizes = CircleSizes()


class RankingRequest(Body):
    ranked: list[ParticipantRef]


class ResponseRequest(Body):
    decision: Decision


class RoundView(BaseModel):
    round: Round
    pairings: list[Pairing]


def _only(round_: Round, institutions: set[str] | None) -> Round:
    """A partner's coordinators see their own people's proposals and reasons only."""
    if institutions is None:
        return round_
    return round_.model_copy(
        update={
            "proposals": [
                p
                for p in round_.proposals
                if access.sees(institutions, p.mentor_ref)
                or access.sees(institutions, p.mentee_ref)
            ],
            "unmatched": {
                ref: why for ref, why in round_.unmatched.items() if access.sees(institutions, ref)
            },
            "rankings": {},
        }
    )


def pairing_router(
    bus: MessageBus,
    views: PairingViews,
    institution: str,
    authenticate: Callable[..., Awaitable[Principal]],
) -> APIRouter:
    router = APIRouter(tags=["pairing"])

    program_of = led_programs(views.program, institution)

    async def round_of(round_id: str) -> Round:
        return found(await views.round(round_id), f"round {round_id}", field="round_id")

    @router.get("/programs/{program_id}/rules", response_model=PairingRules)
    async def get_rules(program_id: str, who: Principal = Depends(authenticate)) -> PairingRules:
        program = await program_of(program_id)
        access.visible_institutions(who, institution, program)
        return program.rules

    @router.put(
        "/programs/{program_id}/rules",
        response_model=PairingRules,
        summary="Set how the program pairs people: weights, minimum overlap, objective",
    )
    async def set_rules(
        program_id: str, body: PairingRules, who: Principal = Depends(authenticate)
    ) -> PairingRules:
        program: Program = await bus.handle(
            commands.SetRules(principal=who, program_id=program_id, rules=body)
        )
        return program.rules

    @router.get(
        "/programs/{program_id}/pool",
        response_model=list[Candidate],
        responses=PAGED,
        summary="The program's candidate pool, as built from enrolment events",
    )
    async def pool(
        program_id: str, page: Page = Depends(), who: Principal = Depends(authenticate)
    ) -> list[Candidate]:
        program = await program_of(program_id)
        visible = access.visible_institutions(who, institution, program)
        pool = await views.pool(program_id)
        return page.of([c for c in pool if access.sees(visible, c.participant_ref)])

    @router.post(
        "/programs/{program_id}/rounds",
        status_code=status.HTTP_201_CREATED,
        response_model=Round,
        summary="Open a round (draft): pins, exclusions and rankings come next",
    )
    async def open_round(
        program_id: str, body: OpenRoundRequest, who: Principal = Depends(authenticate)
    ) -> Round:
        round_: Round = await bus.handle(
            commands.OpenRound(principal=who, program_id=program_id, **body.model_dump())
        )
        return round_

    @router.get("/programs/{program_id}/rounds", response_model=list[Round], responses=PAGED)
    async def list_rounds(
        program_id: str, page: Page = Depends(), who: Principal = Depends(authenticate)
    ) -> list[Round]:
        program = await program_of(program_id)
        visible = access.visible_institutions(who, institution, program)
        return page.of([_only(r, visible) for r in await views.rounds(program_id)])

    @router.get("/rounds/{round_id}", response_model=RoundView)
    async def get_round(round_id: str, who: Principal = Depends(authenticate)) -> RoundView:
        round_ = await round_of(round_id)
        visible = access.visible_institutions(who, institution, await program_of(round_.program_id))
        pairings = [
            p
            for p in await views.pairings_of_round(round_id)
            if access.sees(visible, p.mentor_ref) or access.sees(visible, p.mentee_ref)
        ]
        return RoundView(round=_only(round_, visible), pairings=pairings)

    @router.post("/rounds/{round_id}/pins", response_model=Round, summary="Fix a pair")
    async def pin(round_id: str, body: PairRef, who: Principal = Depends(authenticate)) -> Round:
        round_: Round = await bus.handle(
            commands.PinPair(principal=who, round_id=round_id, pair=body)
        )
        return round_

    @router.post(
        "/rounds/{round_id}/exclusions", response_model=Round, summary="Forbid a pair this round"
    )
    async def exclude(
        round_id: str, body: PairRef, who: Principal = Depends(authenticate)
    ) -> Round:
        round_: Round = await bus.handle(
            commands.ExcludePair(principal=who, round_id=round_id, pair=body)
        )
        return round_

    @router.post(
        "/rounds/{round_id}/compute",
        response_model=Round,
        summary="Match the pool; the round goes to review with proposals and the unmatched",
    )
    async def compute(round_id: str, who: Principal = Depends(authenticate)) -> Round:
        round_: Round = await bus.handle(commands.ComputeRound(principal=who, round_id=round_id))
        return round_

    @router.post(
        "/rounds/{round_id}/publish",
        response_model=RoundView,
        summary="Publish the reviewed proposals: PairingProposed for each",
    )
    async def publish(round_id: str, who: Principal = Depends(authenticate)) -> RoundView:
        round_: Round = await bus.handle(commands.PublishRound(principal=who, round_id=round_id))
        return RoundView(round=round_, pairings=await views.pairings_of_round(round_id))

    @router.get(
        "/rounds/{round_id}/candidates/me",
        response_model=list[CandidateView],
        responses=PAGED,
        summary="Your eligible candidates this round, best first, each explained",
    )
    async def my_candidates(
        round_id: str, page: Page = Depends(), who: Principal = Depends(authenticate)
    ) -> list[CandidateView]:
        me = access.participant(who)
        round_ = await round_of(round_id)
        program = await program_of(round_.program_id)
        if await views.candidate(program.id, me) is None:
            raise Forbidden(f"{me} is not in the pool of {program.id}", field="round_id")
        ranked = await candidate_list(views, institution, program, round_, me, utc_now().date())
        return page.of(ranked, key=None)  # best first: pages keep the ranking

    @router.put(
        "/rounds/{round_id}/rankings/me",
        response_model=Round,
        summary="Rank your candidates, best first (ranked and mixed rounds)",
    )
    async def rank(
        round_id: str, body: RankingRequest, who: Principal = Depends(authenticate)
    ) -> Round:
        round_: Round = await bus.handle(
            commands.RankCandidates(principal=who, round_id=round_id, ranked=body.ranked)
        )
        return _only(round_, {who.institution})

    @router.get(
        "/pairings/me",
        response_model=list[Pairing],
        responses=PAGED,
        summary="Your proposals and pairings, each with its explanation",
    )
    async def my_pairings(
        page: Page = Depends(), who: Principal = Depends(authenticate)
    ) -> list[Pairing]:
        return page.of(await views.pairings_of(access.participant(who)))

    @router.get("/pairings/{pairing_id}", response_model=Pairing)
    async def get_pairing(pairing_id: str, who: Principal = Depends(authenticate)) -> Pairing:
        pairing = found(
            await views.pairing(pairing_id), f"pairing {pairing_id}", field="pairing_id"
        )
        party = access.acting_party(who)
        if party is not None and pairing.involves(party):
            return pairing
        visible = access.visible_institutions(
            who, institution, await program_of(pairing.program_id)
        )
        if access.sees(visible, pairing.mentor_ref) or access.sees(visible, pairing.mentee_ref):
            return pairing
        raise Forbidden("this pairing involves none of your institution's people")

    @router.post(
        "/pairings/{pairing_id}/responses",
        response_model=Pairing,
        summary="Accept or decline a proposed pairing (each side answers once)",
    )
    async def respond(
        pairing_id: str, body: ResponseRequest, who: Principal = Depends(authenticate)
    ) -> Pairing:
        pairing: Pairing = await bus.handle(
            commands.RespondToPairing(principal=who, pairing_id=pairing_id, decision=body.decision)
        )
        return pairing

    return router
