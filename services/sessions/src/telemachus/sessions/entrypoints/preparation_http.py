"""HTTP API of a program's ground rules and preparation, at its lead's sessions service:
the lead's coordinators set them; participants go through the modules of their role;
coordinators see which relationships are not ready for a first session, and why."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from telemachus.sessions.domain import commands
from telemachus.sessions.domain.model import ProgramSettings, RelationshipStatus
from telemachus.sessions.domain.preparation import (
    Blocker,
    GroundRules,
    ModuleRole,
    Preparation,
    PreparationRecord,
    Rule,
)
from telemachus.sessions.service_layer.views import SessionsViews
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.paging import PAGED, Page
from telemachus.shared.runtime.views import led_programs
from telemachus.shared.security.access import coordinator_scope, participant_ref, sees
from telemachus.shared.security.tokens import Principal


class Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RulesRequest(Body):
    rules: list[Rule] = Field(min_length=1, max_length=20)


class Answer(Body):
    answer: Annotated[int, Field(ge=0, le=5, description="the index of the option chosen")]


class ModuleView(BaseModel):
    """A module as a participant sees it: never its answer."""

    id: str
    role: ModuleRole
    title: str
    links: list[HttpUrl]
    question: str
    options: list[str]
    completed_at: datetime | None


class MyPreparation(BaseModel):
    required: bool
    modules: list[ModuleView]


class Readiness(BaseModel):
    relationship_id: str
    mentor_ref: str
    mentee_ref: str
    ready: bool
    blocker: Blocker | None = Field(description="what stands before the next session")
    reason: str | None = Field(description="the same, in words")
    unprepared: list[str] = Field(description="who has required modules left")


def preparation_router(
    bus: MessageBus,
    views: SessionsViews,
    institution: str,
    authenticate: Callable[..., Awaitable[Principal]],
) -> APIRouter:
    router = APIRouter(tags=["preparation"])

    program_of = led_programs(views.program, institution)

    def mine(program: ProgramSettings, record: PreparationRecord | None) -> MyPreparation:
        done = record.completed if record else {}
        return MyPreparation(
            required=program.preparation.required,
            modules=[
                ModuleView(**m.model_dump(exclude={"answer"}), completed_at=done.get(m.id))
                for m in program.preparation.modules
            ],
        )

    @router.get(
        "/programs/{program_id}/ground-rules",
        response_model=GroundRules,
        summary="The program's ground rules, which each learning agreement includes",
    )
    async def ground_rules(program_id: str, who: Principal = Depends(authenticate)) -> GroundRules:
        return (await program_of(program_id)).ground_rules

    @router.put(
        "/programs/{program_id}/ground-rules",
        response_model=GroundRules,
        summary="Change the ground rules (the lead's coordinators): a new version, which "
        "every relationship agrees to again before its next session",
    )
    async def set_ground_rules(
        program_id: str, body: RulesRequest, who: Principal = Depends(authenticate)
    ) -> GroundRules:
        program: ProgramSettings = await bus.handle(
            commands.SetGroundRules(principal=who, program_id=program_id, rules=body.rules)
        )
        return program.ground_rules

    @router.get(
        "/programs/{program_id}/preparation",
        response_model=Preparation,
        summary="The program's preparation modules, with their answers (coordinators)",
    )
    async def preparation(program_id: str, who: Principal = Depends(authenticate)) -> Preparation:
        program = await program_of(program_id)
        coordinator_scope(who, institution, program.partner_institutions, program_id)
        return program.preparation

    @router.put(
        "/programs/{program_id}/preparation",
        response_model=Preparation,
        summary="Set the preparation modules per role, and whether they come before the "
        "first session (the lead's coordinators)",
    )
    async def set_preparation(
        program_id: str, body: Preparation, who: Principal = Depends(authenticate)
    ) -> Preparation:
        program: ProgramSettings = await bus.handle(
            commands.SetPreparation(principal=who, program_id=program_id, preparation=body)
        )
        return program.preparation

    @router.get(
        "/programs/{program_id}/preparation/me",
        response_model=MyPreparation,
        summary="The program's modules and which of them you completed",
    )
    async def my_preparation(
        program_id: str, who: Principal = Depends(authenticate)
    ) -> MyPreparation:
        me = participant_ref(who)
        program = await program_of(program_id)
        return mine(program, (await views.preparation_records(program_id)).get(me))

    @router.post(
        "/programs/{program_id}/preparation/{module_id}",
        response_model=MyPreparation,
        summary="Complete a module by answering its check",
    )
    async def complete(
        program_id: str, module_id: str, body: Answer, who: Principal = Depends(authenticate)
    ) -> MyPreparation:
        record: PreparationRecord = await bus.handle(
            commands.CompleteModule(
                principal=who, program_id=program_id, module_id=module_id, answer=body.answer
            )
        )
        return mine(await program_of(program_id), record)

    @router.get(
        "/programs/{program_id}/readiness",
        response_model=list[Readiness],
        responses=PAGED,
        summary="Active relationships and whether each may plan a session: not-ready first "
        "(coordinators; partners see their own people's)",
    )
    async def program_readiness(
        program_id: str, page: Page = Depends(), who: Principal = Depends(authenticate)
    ) -> list[Readiness]:
        program = await program_of(program_id)
        scope = coordinator_scope(who, institution, program.partner_institutions, program_id)
        records = await views.preparation_records(program_id)
        rows = []
        for r in await views.relationships(program_id):
            if r.status is not RelationshipStatus.ACTIVE or not any(
                sees(scope, ref) for ref in r.parties
            ):
                continue
            state = r.readiness(program, records)
            blocker = r.blocker(state)
            rows.append(
                Readiness(
                    relationship_id=r.id,
                    mentor_ref=r.mentor_ref,
                    mentee_ref=r.mentee_ref,
                    ready=blocker is None,
                    blocker=blocker,
                    reason=r.not_ready(state),
                    unprepared=state.unprepared,
                )
            )
        return page.of(rows, key=lambda row: f"{int(row.ready)}|{row.relationship_id}")

    return router
