"""HTTP API of identity: translate requests into commands, results into responses."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel

from telemachus.identity.domain import commands
from telemachus.identity.domain.model import (
    Enrolment,
    Participant,
    Program,
    ShareableField,
    TopicOffered,
    TopicSought,
)
from telemachus.identity.service_layer.views import IdentityViews
from telemachus.shared.contracts.vocabulary import CareerStage, Profession
from telemachus.shared.errors import found
from telemachus.shared.runtime.bus import MessageBus


class ParticipantView(BaseModel):
    """A participant's own record, as their home institution holds it."""

    id: str
    ref: str
    home_institution: str
    display_name: str
    work_email: str
    profession: Profession
    career_stage: CareerStage
    department: str | None
    topics_offered: list[TopicOffered]
    topics_sought: list[TopicSought]
    languages: list[str]
    max_relationships: int
    enrolments: list[Enrolment]


class EnrolmentRequest(commands.Command):
    program_id: str
    consented_fields: list[ShareableField]


def participant_view(participant: Participant) -> ParticipantView:
    return ParticipantView(ref=participant.ref, **participant.model_dump(exclude={"version"}))


def identity_router(bus: MessageBus, views: IdentityViews) -> APIRouter:
    router = APIRouter(tags=["identity"])

    @router.post(
        "/programs",
        status_code=status.HTTP_201_CREATED,
        response_model=Program,
        summary="Publish a program this institution leads",
    )
    async def publish_program(body: commands.PublishProgram) -> Program:
        program: Program = await bus.handle(body)
        return program

    @router.get(
        "/programs",
        response_model=list[Program],
        summary="Programs led here and programs this institution is a partner of",
    )
    async def list_programs() -> list[Program]:
        return await views.programs()

    @router.get("/programs/{program_id}", response_model=Program)
    async def get_program(program_id: str) -> Program:
        return found(await views.program(program_id), f"program {program_id}", field="program_id")

    @router.post(
        "/participants",
        status_code=status.HTTP_201_CREATED,
        response_model=ParticipantView,
        summary="Register a person of this institution",
    )
    async def register_participant(body: commands.RegisterParticipant) -> ParticipantView:
        return participant_view(await bus.handle(body))

    @router.get("/participants/{participant_id}", response_model=ParticipantView)
    async def get_participant(participant_id: str) -> ParticipantView:
        participant = found(
            await views.participant(participant_id),
            f"participant {participant_id}",
            field="participant_id",
        )
        return participant_view(participant)

    @router.post(
        "/participants/{participant_id}/enrolments",
        status_code=status.HTTP_201_CREATED,
        response_model=Enrolment,
        summary="Enrol in a program, sharing only the consented profile fields",
    )
    async def enrol(participant_id: str, body: EnrolmentRequest) -> Enrolment:
        participant: Participant = await bus.handle(
            commands.EnrolParticipant(participant_id=participant_id, **body.model_dump())
        )
        return next(e for e in participant.enrolments if e.program_id == body.program_id)

    return router
