"""A participant's preparation page: the program's ground rules, and the modules the
program asks of them, each with its reading and a check to answer."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from telemachus.portal.adapters.services import ServiceRefused
from telemachus.portal.domain.profile_form import N_, Problem
from telemachus.portal.entrypoints.web import Page, Web
from telemachus.portal.service_layer.participation import Participation


def preparation_router(web: Web, journey: Participation) -> APIRouter:
    router = APIRouter()

    async def preparation_page(
        page: Page, lead: str, program_id: str, errors: dict[str, Any] | None = None
    ) -> Response:
        assert page.session is not None
        rules, preparation = await asyncio.gather(
            journey.ground_rules(page.session, lead, program_id),
            journey.preparation(page.session, lead, program_id),
        )
        return page.render(
            "preparation.html",
            status=422 if errors else 200,
            lead=lead,
            program_id=program_id,
            rules=rules,
            preparation=preparation,
            errors=errors or {},
        )

    @router.get("/at/{lead}/programs/{program_id}/preparation", include_in_schema=False)
    async def show(request: Request, lead: str, program_id: str) -> Response:
        return await preparation_page(await web.signed_in(request), lead, program_id)

    @router.post(
        "/at/{lead}/programs/{program_id}/preparation/{module_id}", include_in_schema=False
    )
    async def answer(request: Request, lead: str, program_id: str, module_id: str) -> Response:
        page = await web.signed_in(request)
        form = await web.form(page)
        chosen = str(form.get("answer", ""))
        if not chosen.isdigit():
            problem = Problem(N_("Choose one of the answers."))
            return await preparation_page(page, lead, program_id, {module_id: problem})
        if (earlier := await web.once(page, form)) is not None:
            return RedirectResponse(earlier, status_code=303)
        assert page.session is not None
        try:
            await journey.complete_module(page.session, lead, program_id, module_id, int(chosen))
        except ServiceRefused as refused:
            if refused.status == 422:
                return await preparation_page(
                    page, lead, program_id, {module_id: Problem(refused.reason)}
                )
            raise
        here = f"/at/{lead}/programs/{program_id}/preparation"
        return await web.done(page, form, f"{here}?saved=prepared#{module_id}")

    return router
