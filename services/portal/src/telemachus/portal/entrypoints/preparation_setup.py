"""The coordinator's preparation page: the program's ground rules, and the modules each role
goes through before the first session, which the lead's coordinators set here."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import Response

from telemachus.portal.domain.preparation_form import (
    ROLES,
    ModuleForm,
    preparation_from,
    where_refused,
)
from telemachus.portal.domain.profile_form import Problem
from telemachus.portal.entrypoints.web import Page, Web, texts
from telemachus.portal.service_layer.coordination import Coordination
from telemachus.portal.service_layer.participation import Participation

EMPTY = ModuleForm(
    required=False, remove=[], title="", role="mentor", links="", question="", options="", answer=""
)


def preparation_setup_router(web: Web, work: Coordination, journey: Participation) -> APIRouter:
    router = APIRouter(prefix="/coordinate/programs/{program_id}/preparation")

    async def setup_page(
        page: Page,
        program_id: str,
        form: ModuleForm | None = None,
        errors: dict[str, Problem] | None = None,
    ) -> Response:
        assert page.session is not None
        program, setup = await asyncio.gather(
            journey.program(page.session, program_id), work.preparation(page.session, program_id)
        )
        current = setup["preparation"]
        return page.render(
            "preparation_setup.html",
            status=422 if errors else 200,
            program=program,
            preparation=current,
            rules=setup["rules"],
            roles=ROLES,
            led_here=program.get("lead_institution") == work.institution,
            form=form or ModuleForm(**{**EMPTY.__dict__, "required": current["required"]}),
            errors=errors or {},
        )

    @router.get("", include_in_schema=False)
    async def show(request: Request, program_id: str) -> Response:
        return await setup_page(await web.coordinator(request), program_id)

    @router.post("", include_in_schema=False)
    async def save(request: Request, program_id: str) -> Response:
        page = await web.coordinator(request)
        form = await web.form(page)
        filled = ModuleForm(
            required=form.get("required") == "yes",
            remove=texts(form, "remove"),
            title=str(form.get("title", "")),
            role=str(form.get("role", "")),
            links=str(form.get("links", "")),
            question=str(form.get("question", "")),
            options=str(form.get("options", "")),
            answer=str(form.get("answer", "")),
        )
        assert page.session is not None
        current = (await work.preparation(page.session, program_id))["preparation"]
        body, errors = preparation_from(current, filled)
        session = page.session
        return await web.save_setting(
            page,
            form,
            errors,
            lambda problems: setup_page(page, program_id, filled, dict(problems)),
            lambda: work.set_preparation(session, program_id, body),
            where_refused,
            f"/coordinate/programs/{program_id}/preparation?saved=preparation#modules",
        )

    return router
