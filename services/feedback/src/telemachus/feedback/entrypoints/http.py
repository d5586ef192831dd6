"""HTTP API of feedback: windows and answers for participants, concerns, and for
coordinators the program's evaluation report and research export.

An answer is read only by the person who gave it: not by the other party, not by a
coordinator. Coordinators see aggregates with small groups suppressed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from telemachus.feedback.domain import commands
from telemachus.feedback.domain.concerns import (
    Concern,
    ConcernCategory,
    ConcernOutcome,
    ConcernProgress,
    ConcernStatus,
)
from telemachus.feedback.domain.evaluation_plan import EvaluationPlan
from telemachus.feedback.domain.instruments import (
    INSTRUMENTS,
    Instrument,
    Level,
    Purpose,
    WindowKind,
)
from telemachus.feedback.domain.instruments import Role as PartyRole
from telemachus.feedback.domain.model import (
    FeedbackSettings,
    FeedbackWindow,
    Program,
)
from telemachus.feedback.domain.model import Response as Answer
from telemachus.feedback.reporting import export, html
from telemachus.feedback.reporting.evaluation import Evaluation, EvaluationReport
from telemachus.feedback.reporting.recognition import RecognitionSummary, ratings_of
from telemachus.feedback.service_layer.concern_readers import reader
from telemachus.feedback.service_layer.views import FeedbackViews
from telemachus.shared.clock import utc_now
from telemachus.shared.errors import Forbidden, found
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.paging import PAGED, Page
from telemachus.shared.runtime.views import led_programs
from telemachus.shared.security.access import (
    Scope,
    acting_party,
    coordinator_scope,
    participant_ref,
    require_lead_coordinator,
    sees,
)
from telemachus.shared.security.tokens import Principal, Role

ItemId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,59}$")]
NOT_YOURS = "answers are read only by the person who gave them; none of yours has this id"


class Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AnswersRequest(Body):
    answers: dict[ItemId, int] = Field(
        description="every item of the instrument, 1 strongly disagree - 5 strongly agree",
        max_length=50,
    )
    comment: str | None = Field(default=None, max_length=4000)


class ConcernRequest(Body):
    relationship_id: str = Field(max_length=200)
    category: ConcernCategory
    text: str | None = Field(default=None, max_length=5000, description="seen by coordinators")


class FollowUpRequest(Body):
    status: ConcernStatus
    note: str | None = Field(
        default=None, max_length=2000, description="the action taken (never shown to the reporter)"
    )
    outcome: ConcernOutcome | None = Field(
        default=None, description="required when, and only when, status is resolved"
    )
    pause: bool | None = Field(
        default=None,
        description="true pauses the relationship (its planned sessions are cancelled, none "
        "can be proposed), false resumes it; resolving resumes it unless it ended",
    )


# Who is shielded from a concern is the rule's business, not the reader's: the line
# managers' references stay inside.
SHIELD = {"parties", "reporting_line", "hold_id"}
SHIELD_EACH = {"__all__": SHIELD}  # the same, for each concern of a list


class ItemView(BaseModel):
    id: str
    statement: str
    level: Level = Field(description="the Kirkpatrick level it evaluates")


class InstrumentView(BaseModel):
    key: str
    title: str
    purpose: Purpose
    respondent: PartyRole
    scale: str = "1 strongly disagree - 5 strongly agree"
    items: list[ItemView]

    @classmethod
    def of(cls, i: Instrument) -> InstrumentView:
        return cls(
            key=i.key,
            title=i.title,
            purpose=i.purpose,
            respondent=i.respondent,
            items=[
                ItemView(id=item.id, statement=item.statement, level=i.level_of(item))
                for item in i.items
            ],
        )


class MyWindow(BaseModel):
    window: FeedbackWindow
    role: PartyRole
    open: bool
    instruments: list[InstrumentView]
    answered: list[str] = Field(description="instrument keys you have answered here")


class WindowSummary(BaseModel):
    """What coordinators see of a window: not who answered, and never the answers."""

    id: str
    relationship_id: str
    program_id: str
    kind: WindowKind
    session_id: str | None
    months_after_end: int | None = Field(description="follow-ups: months after the end")
    opens_at: str
    closes_at: str
    opened: bool = Field(description="false: a follow-up waiting for its day")
    closed: bool


def feedback_router(
    bus: MessageBus,
    views: FeedbackViews,
    institution: str,
    authenticate: Callable[..., Awaitable[Principal]],
) -> APIRouter:
    router = APIRouter(tags=["feedback"])

    program_of = led_programs(views.program, institution)

    async def scope_of(who: Principal, program: Program) -> Scope:
        return coordinator_scope(who, institution, program.partner_institutions, program.id)

    @router.get(
        "/instruments",
        response_model=list[InstrumentView],
        responses=PAGED,
        summary="The feedback instruments, versioned, with their items",
    )
    async def instruments(page: Page = Depends()) -> list[InstrumentView]:
        return page.of([InstrumentView.of(i) for i in INSTRUMENTS], key=lambda i: i.key)

    # -- participants -------------------------------------------------------------------

    @router.get(
        "/feedback/me",
        response_model=list[MyWindow],
        responses=PAGED,
        summary="Your feedback windows, what each asks of you and what you have answered",
    )
    async def my_windows(
        page: Page = Depends(), who: Principal = Depends(authenticate)
    ) -> list[MyWindow]:
        me = participant_ref(who)
        answered: dict[str, list[str]] = {}
        for answer in await views.responses_by(me):
            answered.setdefault(answer.window_id, []).append(answer.instrument)
        now = utc_now()
        mine = [
            MyWindow(
                window=w,
                role=w.party(me, "window_id"),
                open=not w.closed and now < w.closes_at,
                instruments=[InstrumentView.of(i) for i in w.instruments_for(me)],
                answered=sorted(answered.get(w.id, [])),
            )
            for w in await views.windows_of(me)
            if w.opened  # a follow-up shows once its day has come
        ]
        return page.of(mine, key=lambda m: m.window.id)

    @router.get(
        "/recognition/me",
        response_model=RecognitionSummary,
        summary="How the other party rated you across your relationships in a program, for "
        "your certificate: aggregates only, hidden below the program's threshold",
    )
    async def my_recognition(
        program_id: str, who: Principal = Depends(authenticate)
    ) -> RecognitionSummary:
        me = participant_ref(who)
        program = await program_of(program_id)
        relationships, responses = await views.recognition_facts(program.id, me)
        if not relationships:
            raise Forbidden("you have no relationship in this program", field="program_id")
        ratings = ratings_of(me, program, relationships, responses)
        return RecognitionSummary(
            program_id=program.id,
            title=program.title,
            threshold=program.reporting_threshold,
            ratings=await views.released_metrics(program, ratings, utc_now()),
        )

    @router.put(
        "/windows/{window_id}/answers/{instrument}",
        response_model=Answer,
        summary="Answer an instrument in an open window (again to amend, until it closes)",
    )
    async def give(
        window_id: str,
        instrument: str,
        body: AnswersRequest,
        who: Principal = Depends(authenticate),
    ) -> Answer:
        answer: Answer = await bus.handle(
            commands.GiveFeedback(
                principal=who,
                window_id=window_id,
                instrument=instrument,
                answers=body.answers,
                comment=body.comment,
            )
        )
        return answer

    @router.get(
        "/answers/{answer_id}",
        response_model=Answer,
        summary="One of your own answers (nobody else's: not the other party's, not for "
        "coordinators)",
    )
    async def my_answer(answer_id: str, who: Principal = Depends(authenticate)) -> Answer:
        answer = await views.response(answer_id)
        if answer is None or answer.respondent_ref != acting_party(who):
            raise Forbidden(NOT_YOURS, field="answer_id")
        return answer

    @router.post(
        "/concerns",
        response_model=ConcernProgress,
        status_code=201,
        summary="Report a concern to your institution's safeguarding contacts; the other party, "
        "and anyone in your reporting line, never sees it",
    )
    async def report_concern(
        body: ConcernRequest, who: Principal = Depends(authenticate)
    ) -> ConcernProgress:
        concern: Concern = await bus.handle(
            commands.ReportConcern(principal=who, **body.model_dump())
        )
        return ConcernProgress.of(concern)

    @router.get(
        "/concerns/me",
        response_model=list[ConcernProgress],
        responses=PAGED,
        summary="Concerns you reported and where each stands (not who acted or was told)",
    )
    async def my_concerns(
        page: Page = Depends(), who: Principal = Depends(authenticate)
    ) -> list[ConcernProgress]:
        return page.of(
            [ConcernProgress.of(c) for c in await views.concerns_by(participant_ref(who))]
        )

    # -- safeguarding contacts ----------------------------------------------------------

    async def readable(who: Principal, concerns: list[Concern], *known: Program) -> list[Concern]:
        """The concerns `who` may read; `known`: programs already read for the request."""
        programs: dict[str, Program | None] = {p.id: p for p in known}
        shown = []
        for concern in concerns:
            if concern.program_id not in programs:
                programs[concern.program_id] = await views.program(concern.program_id)
            program = programs[concern.program_id]
            if program and concern.refusal(reader(who, institution, program, concern)) is None:
                shown.append(concern)
        return shown

    @router.get(
        "/safeguarding/concerns",
        response_model=list[Concern],
        responses=PAGED,
        summary="Concerns raised by your institution's people, for its safeguarding contacts "
        "(none about you or from your own reports)",
        response_model_exclude=SHIELD_EACH,
    )
    async def safeguarding_concerns(
        page: Page = Depends(), who: Principal = Depends(authenticate)
    ) -> list[Concern]:
        if not who.has(Role.SAFEGUARDING):
            raise Forbidden("needs the safeguarding role your institution gives its contacts")
        return page.of(await readable(who, await views.concerns_of_people_of(who.institution)))

    @router.get(
        "/concerns/{concern_id}",
        response_model=Concern,
        summary="One concern, for those who act on it",
        response_model_exclude=SHIELD,
    )
    async def one_concern(concern_id: str, who: Principal = Depends(authenticate)) -> Concern:
        concern = found(
            await views.concern(concern_id), f"concern {concern_id}", field="concern_id"
        )
        program = await program_of(concern.program_id)
        concern.check_reader(reader(who, institution, program, concern))
        return concern

    # -- coordinators -------------------------------------------------------------------

    @router.get(
        "/programs/{program_id}/feedback-windows",
        response_model=list[WindowSummary],
        responses=PAGED,
        summary="A program's feedback windows (coordinators; partners: their own people's)",
    )
    async def program_windows(
        program_id: str, page: Page = Depends(), who: Principal = Depends(authenticate)
    ) -> list[WindowSummary]:
        scope = await scope_of(who, await program_of(program_id))
        windows = [
            WindowSummary(
                **w.model_dump(include=set(WindowSummary.model_fields) - {"opens_at", "closes_at"}),
                opens_at=w.opens_at.isoformat(),
                closes_at=w.closes_at.isoformat(),
            )
            for w in await views.program_windows(program_id)
            if any(sees(scope, ref) for ref in w.respondents.values())
        ]
        return page.of(windows)

    @router.get(
        "/programs/{program_id}/concerns",
        response_model=list[Concern],
        responses=PAGED,
        summary="Concerns reported in a program (coordinators; partners: their own people's; "
        "none about you or from your own reports)",
        response_model_exclude=SHIELD_EACH,
    )
    async def program_concerns(
        program_id: str, page: Page = Depends(), who: Principal = Depends(authenticate)
    ) -> list[Concern]:
        program = await program_of(program_id)
        await scope_of(who, program)
        return page.of(await readable(who, await views.concerns(program_id), program))

    @router.post(
        "/concerns/{concern_id}/follow-up",
        response_model=Concern,
        summary="Record an action on a concern: acknowledged (stops its deadline), in "
        "progress, or resolved with an outcome",
        response_model_exclude=SHIELD,
    )
    async def follow_up(
        concern_id: str, body: FollowUpRequest, who: Principal = Depends(authenticate)
    ) -> Concern:
        concern: Concern = await bus.handle(
            commands.FollowUpConcern(principal=who, concern_id=concern_id, **body.model_dump())
        )
        return concern

    @router.get("/programs/{program_id}/feedback-settings", response_model=FeedbackSettings)
    async def get_settings(
        program_id: str, who: Principal = Depends(authenticate)
    ) -> FeedbackSettings:
        program = await program_of(program_id)
        await scope_of(who, program)
        return program.settings

    @router.put(
        "/programs/{program_id}/feedback-settings",
        response_model=FeedbackSettings,
        summary="Window lengths, reminders, the withdrawal policy and free text in exports "
        "(the lead's coordinators)",
    )
    async def set_settings(
        program_id: str, body: FeedbackSettings, who: Principal = Depends(authenticate)
    ) -> FeedbackSettings:
        program: Program = await bus.handle(
            commands.SetFeedbackSettings(principal=who, program_id=program_id, settings=body)
        )
        return program.settings

    @router.get(
        "/programs/{program_id}/evaluation-plan",
        response_model=EvaluationPlan,
        summary="The program's goals, the Kirkpatrick levels it evaluates and when it asks "
        "again after the end",
    )
    async def get_plan(program_id: str, who: Principal = Depends(authenticate)) -> EvaluationPlan:
        program = await program_of(program_id)
        await scope_of(who, program)
        return program.evaluation

    @router.put(
        "/programs/{program_id}/evaluation-plan",
        response_model=EvaluationPlan,
        summary="Set goals, levels and follow-up months (the lead's coordinators); months "
        "apply to relationships that end from now on",
    )
    async def set_plan(
        program_id: str, body: EvaluationPlan, who: Principal = Depends(authenticate)
    ) -> EvaluationPlan:
        program: Program = await bus.handle(
            commands.SetEvaluationPlan(principal=who, program_id=program_id, plan=body)
        )
        return program.evaluation

    async def evaluation(program_id: str, who: Principal) -> EvaluationReport:
        program = await program_of(program_id)
        await scope_of(who, program)  # aggregates only, suppressed: every coordinator
        return await views.released(Evaluation(await views.facts(program)).report(utc_now()))

    @router.get(
        "/programs/{program_id}/report",
        response_model=EvaluationReport,
        summary="The program evaluation: rates, scores and pre/post change, small groups "
        "suppressed",
    )
    async def report(program_id: str, who: Principal = Depends(authenticate)) -> EvaluationReport:
        return await evaluation(program_id, who)

    @router.get(
        "/programs/{program_id}/report.html",
        response_class=HTMLResponse,
        summary="The program evaluation as a self-contained page with charts",
    )
    async def report_page(program_id: str, who: Principal = Depends(authenticate)) -> HTMLResponse:
        return HTMLResponse(html.render(await evaluation(program_id, who)))

    @router.get(
        "/programs/{program_id}/export",
        response_class=Response,
        summary="De-identified answers with a codebook, as a zip (the lead's coordinators)",
        responses={200: {"content": {"application/zip": {}}}},
    )
    async def research_export(
        program_id: str,
        format: Annotated[export.ExportFormat, Query()] = export.ExportFormat.CSV,
        who: Principal = Depends(authenticate),
    ) -> Response:
        program = await program_of(program_id)
        require_lead_coordinator(who, institution, program_id)
        name, blob = export.archive(await views.facts(program), format, utc_now())
        return Response(
            blob,
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return router
