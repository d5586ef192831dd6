"""The coordinator's pages: programs, roster, invitations, rounds, relationships,
concerns, the evaluation report and the research export."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from telemachus.portal.adapters.services import ServiceRefused
from telemachus.portal.domain.circle_seats import short_circles
from telemachus.portal.domain.evaluation_form import LEVELS, PlanForm, plan_from, where_refused
from telemachus.portal.domain.profile_form import N_, Problem
from telemachus.portal.domain.round_form import round_request
from telemachus.portal.entrypoints.safeguarding import CONCERN_STATES, OUTCOMES, record_step
from telemachus.portal.entrypoints.web import Page, Web, texts
from telemachus.portal.service_layer.concerns import Concerns
from telemachus.portal.service_layer.coordination import Coordination
from telemachus.portal.service_layer.participation import Participation

Json = dict[str, Any]
MODES = ("assigned", "ranked", "mixed")
ROSTER_MAX_BYTES = 10 * 1024 * 1024
PROPOSALS_PER_PAGE = 50


def coordinator_router(
    web: Web, work: Coordination, journey: Participation, concerns: Concerns
) -> APIRouter:
    router = APIRouter(prefix="/coordinate")

    async def programs_page(
        page: Page, values: Json | None = None, errors: Json | None = None
    ) -> Response:
        assert page.session is not None
        names = await journey.institutions(page.session)
        return page.render(
            "coordinate.html",
            status=422 if errors else 200,
            programs=await journey.programs(page.session),
            names=names,
            partners=[i for i in names if i != work.institution],
            topics=await journey.topics(page.session),
            modes=MODES,
            values=values or _program_defaults(),
            errors=errors or {},
        )

    @router.get("", include_in_schema=False)
    async def programs(request: Request) -> Response:
        return await programs_page(await web.coordinator(request))

    @router.post("/programs", include_in_schema=False)
    async def publish(request: Request) -> Response:
        page = await web.coordinator(request)
        form = await web.form(page)
        values: Json = {k: v for k, v in form.items() if isinstance(v, str)}
        values["partners"] = texts(form, "partner")
        values["topics"] = texts(form, "topic")
        terms, errors = _program_terms(values)
        if errors:
            return await programs_page(page, values, errors)
        if (earlier := await web.once(page, form)) is not None:
            return RedirectResponse(earlier, status_code=303)
        assert page.session is not None
        try:
            created = await work.publish_program(page.session, terms)
        except ServiceRefused as refused:
            if refused.status == 422:
                return await programs_page(
                    page, values, {refused.field or "title": Problem(refused.reason)}
                )
            raise
        return await web.done(page, form, f"/coordinate/programs/{created['id']}?saved=published")

    @router.get("/programs/{program_id}", include_in_schema=False)
    async def program(request: Request, program_id: str) -> Response:
        page = await web.coordinator(request)
        assert page.session is not None
        overview, invitations, names, topics = await asyncio.gather(
            work.overview(page.session, program_id),
            work.invitations(page.session, program_id),
            journey.institutions(page.session),
            journey.topics(page.session),
        )
        return page.render(
            "program.html",
            overview=overview,
            program=overview.program,
            names=names,
            topics=topics,
            invitations=invitations,
            concern_states=CONCERN_STATES,
            outcomes=OUTCOMES,
        )

    async def evaluation_page(
        page: Page,
        program_id: str,
        form: PlanForm | None = None,
        errors: dict[str, Problem] | None = None,
    ) -> Response:
        assert page.session is not None
        program, report, plan = await asyncio.gather(
            journey.program(page.session, program_id),
            work.report(page.session, program_id),
            work.evaluation_plan(page.session, program_id),
        )
        current = plan["plan"]
        return page.render(
            "evaluation.html",
            status=422 if errors else 200,
            program=program,
            report=report,
            plan=current,
            instruments=plan["instruments"],
            levels=LEVELS,
            led_here=program.get("lead_institution") == work.institution,
            form=form
            or PlanForm(
                levels=current["levels"],
                months=", ".join(str(m) for m in current["follow_up_months"]),
                days=str(current["follow_up_days"]),
                remove=[],
                statement="",
                level="learning",
                measures=[],
                target="",
            ),
            errors=errors or {},
        )

    @router.get("/programs/{program_id}/evaluation", include_in_schema=False)
    async def evaluation(request: Request, program_id: str) -> Response:
        return await evaluation_page(await web.coordinator(request), program_id)

    @router.post("/programs/{program_id}/evaluation-plan", include_in_schema=False)
    async def set_plan(request: Request, program_id: str) -> Response:
        page = await web.coordinator(request)
        form = await web.form(page)

        filled = PlanForm(
            levels=texts(form, "level"),
            months=str(form.get("follow_up_months", "")),
            days=str(form.get("follow_up_days", "")),
            remove=texts(form, "remove"),
            statement=str(form.get("statement", "")),
            level=str(form.get("goal_level", "")),
            measures=texts(form, "measure"),
            target=str(form.get("target", "")),
        )
        assert page.session is not None
        current = (await work.evaluation_plan(page.session, program_id))["plan"]
        plan, errors = plan_from(current, filled)
        session = page.session
        return await web.save_setting(
            page,
            form,
            errors,
            lambda problems: evaluation_page(page, program_id, filled, dict(problems)),
            lambda: work.set_evaluation_plan(session, program_id, plan),
            where_refused,
            f"/coordinate/programs/{program_id}/evaluation?saved=plan#plan",
        )

    @router.post("/programs/{program_id}/roster", include_in_schema=False)
    async def roster(request: Request, program_id: str) -> Response:
        page = await web.coordinator(request)
        form = await web.form(page)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ServiceRefused(422, page._("Choose the roster file (CSV) to upload."), "file")
        content = await upload.read(ROSTER_MAX_BYTES + 1)
        if len(content) > ROSTER_MAX_BYTES:
            raise ServiceRefused(413, page._("The file is over 10 MB; split it."), "file")
        if (earlier := await web.once(page, form)) is not None:
            return RedirectResponse(earlier, status_code=303)
        assert page.session is not None
        job = await work.sync_roster(page.session, content, form.get("dry_run") == "yes")
        return await web.done(page, form, f"/coordinate/programs/{program_id}/roster/{job['id']}")

    @router.get("/programs/{program_id}/roster/{job_id}", include_in_schema=False)
    async def roster_job(request: Request, program_id: str, job_id: str) -> Response:
        page = await web.coordinator(request)
        assert page.session is not None
        job = await work.import_job(page.session, job_id)
        return page.render("roster_job.html", job=job, program_id=program_id)

    @router.post("/programs/{program_id}/invitations", include_in_schema=False)
    async def invite(request: Request, program_id: str) -> Response:
        page = await web.coordinator(request)
        form = await web.form(page)
        emails = [
            e.strip()
            for e in str(form.get("emails", "")).replace(",", "\n").splitlines()
            if e.strip()
        ]
        if not emails:
            raise ServiceRefused(422, page._("Give at least one work e-mail address."), "emails")
        if (earlier := await web.once(page, form)) is not None:
            return RedirectResponse(earlier, status_code=303)
        assert page.session is not None
        await work.invite(page.session, program_id, emails, 14)
        return await web.done(
            page, form, f"/coordinate/programs/{program_id}?saved=invited#invitations"
        )

    @router.post("/programs/{program_id}/rounds", include_in_schema=False)
    async def open_round(request: Request, program_id: str) -> Response:
        page = await web.coordinator(request)
        form = await web.form(page)
        if (earlier := await web.once(page, form)) is not None:
            return RedirectResponse(earlier, status_code=303)
        assert page.session is not None
        opened = await work.open_round(page.session, program_id, round_request(form))
        lead = program_id.partition(":")[0]
        return await web.done(page, form, f"/coordinate/at/{lead}/rounds/{opened['id']}")

    @router.get("/at/{lead}/rounds/{round_id}", include_in_schema=False)
    async def round_page(request: Request, lead: str, round_id: str, at: int = 0) -> Response:
        page = await web.coordinator(request)
        assert page.session is not None
        view = await work.round(page.session, lead, round_id)
        shown = (
            view["pairings"]
            if view["round"]["status"] == "published"
            else view["round"]["proposals"]
        )
        start = max(0, min(at, len(shown)))
        sizes = view["round"].get("circle_sizes")
        published = view["round"]["status"] == "published"
        return page.render(
            "round.html",
            view=view,
            round=view["round"],
            short=short_circles(shown, sizes["smallest"]) if sizes and published else [],
            lead=lead,
            # A round of hundreds is read a page at a time.
            shown=shown[start : start + PROPOSALS_PER_PAGE],
            start=start,
            total=len(shown),
            per_page=PROPOSALS_PER_PAGE,
            pool=await work.pool(page.session, view["round"]["program_id"]),
            topics=await journey.topics(page.session),
        )

    @router.post("/at/{lead}/rounds/{round_id}/{action}", include_in_schema=False)
    async def round_act(request: Request, lead: str, round_id: str, action: str) -> Response:
        page = await web.coordinator(request)
        form = await web.form(page)
        if action not in ("compute", "publish", "pins", "exclusions"):
            raise ServiceRefused(404, page._("This page has no such form."))
        pair = None
        if action in ("pins", "exclusions"):
            pair = {"mentor_ref": form.get("mentor_ref"), "mentee_ref": form.get("mentee_ref")}
            if (
                not pair["mentor_ref"]
                or not pair["mentee_ref"]
                or pair["mentor_ref"] == pair["mentee_ref"]
            ):
                raise ServiceRefused(
                    422, page._("Choose a mentor and a different mentee."), "mentee_ref"
                )
        if (earlier := await web.once(page, form)) is not None:
            return RedirectResponse(earlier, status_code=303)
        assert page.session is not None
        await work.round_act(page.session, lead, round_id, action, pair)
        return await web.done(page, form, f"/coordinate/at/{lead}/rounds/{round_id}?saved={action}")

    @router.post("/at/{lead}/concerns/{concern_id}", include_in_schema=False)
    async def follow_up(request: Request, lead: str, concern_id: str) -> Response:
        return await record_step(
            web,
            concerns,
            await web.coordinator(request),
            lead,
            concern_id,
            lambda form: (
                f"/coordinate/programs/{form.get('program_id', '')}?saved=concern-step#concerns"
            ),
        )

    @router.get("/programs/{program_id}/export", include_in_schema=False)
    async def export(request: Request, program_id: str, format: str = "csv") -> Response:
        page = await web.coordinator(request)
        assert page.session is not None
        if format not in ("csv", "parquet", "sav", "dta"):
            format = "csv"  # what any tool reads
        found = await work.export(page.session, program_id, format)
        name = found.filename or "research-export.zip"
        return Response(
            found.content,
            media_type=found.media_type,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return router


def _program_defaults() -> Json:
    today = date.today()
    return {
        "mode": "assigned",
        "weeks": "12",
        "sessions": "6",
        "opens": today.isoformat(),
        "closes": (today + timedelta(days=30)).isoformat(),
        "partners": [],
        "topics": [],
    }


def _program_terms(values: Json) -> tuple[Json, dict[str, Problem]]:
    errors: dict[str, Problem] = {}
    title = str(values.get("title", "")).strip()
    if len(title) < 3:
        errors["title"] = Problem(N_("give the program a title of at least 3 characters"))
    if not values.get("topics"):
        errors["topics"] = Problem(N_("choose at least one topic"))
    if values.get("mode") not in MODES:
        errors["mode"] = Problem(N_("choose how people are paired"))
    numbers: dict[str, int] = {}
    for name, low, high in (("weeks", 1, 104), ("sessions", 1, 100)):
        text = str(values.get(name, ""))
        if not text.isdigit() or not low <= int(text) <= high:
            errors[name] = Problem(
                N_("a whole number from %(low)s to %(high)s"), {"low": str(low), "high": str(high)}
            )
        else:
            numbers[name] = int(text)
    dates: dict[str, date] = {}
    for name in ("opens", "closes"):
        try:
            dates[name] = date.fromisoformat(str(values.get(name, "")))
        except ValueError:
            errors[name] = Problem(N_("a date, e.g. 2027-01-31"))
    if len(dates) == 2 and dates["closes"] < dates["opens"]:
        errors["closes"] = Problem(N_("enrolment must close after it opens"))
    if errors:
        return {}, errors
    return {
        "title": title,
        "partner_institutions": values["partners"],
        "topics": values["topics"],
        "pairing_mode": values["mode"],
        "relationship_weeks": numbers["weeks"],
        "planned_sessions": numbers["sessions"],
        "enrolment_opens": dates["opens"].isoformat(),
        "enrolment_closes": dates["closes"].isoformat(),
    }, {}
