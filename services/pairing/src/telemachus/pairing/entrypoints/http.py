"""HTTP API of pairing: pools, rounds, proposals and answers."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel

from telemachus.pairing.domain import commands
from telemachus.pairing.domain.model import Candidate, Decision, Pairing, Round
from telemachus.pairing.service_layer.views import PairingViews
from telemachus.shared.contracts.vocabulary import PairingMode, ParticipantRef
from telemachus.shared.errors import found
from telemachus.shared.runtime.bus import MessageBus


class RunRoundRequest(commands.Command):
    mode: PairingMode | None = None


class RoundView(BaseModel):
    round: Round
    pairings: list[Pairing]


class ResponseRequest(commands.Command):
    participant_ref: ParticipantRef
    decision: Decision


def pairing_router(bus: MessageBus, views: PairingViews) -> APIRouter:
    router = APIRouter(tags=["pairing"])

    @router.get(
        "/programs/{program_id}/pool",
        response_model=list[Candidate],
        summary="The program's candidate pool, as built from enrolment events",
    )
    async def pool(program_id: str) -> list[Candidate]:
        return await views.pool(program_id)

    @router.post(
        "/programs/{program_id}/rounds",
        status_code=status.HTTP_201_CREATED,
        response_model=RoundView,
        summary="Run a matching round and publish its proposals",
    )
    async def run_round(program_id: str, body: RunRoundRequest) -> RoundView:
        round_: Round = await bus.handle(commands.RunRound(program_id=program_id, mode=body.mode))
        return RoundView(round=round_, pairings=await views.pairings_of_round(round_.id))

    @router.get("/rounds/{round_id}", response_model=RoundView)
    async def get_round(round_id: str) -> RoundView:
        round_ = found(await views.round(round_id), f"round {round_id}", field="round_id")
        return RoundView(round=round_, pairings=await views.pairings_of_round(round_id))

    @router.get("/pairings/{pairing_id}", response_model=Pairing)
    async def get_pairing(pairing_id: str) -> Pairing:
        return found(await views.pairing(pairing_id), f"pairing {pairing_id}", field="pairing_id")

    @router.post(
        "/pairings/{pairing_id}/responses",
        response_model=Pairing,
        summary="Accept or decline a proposed pairing (each side answers once)",
    )
    async def respond(pairing_id: str, body: ResponseRequest) -> Pairing:
        pairing: Pairing = await bus.handle(
            commands.RespondToPairing(pairing_id=pairing_id, **body.model_dump())
        )
        return pairing

    return router
