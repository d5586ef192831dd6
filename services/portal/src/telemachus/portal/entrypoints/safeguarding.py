"""The safeguarding contact's page: the concerns their institution's people raised, in
every program, what needs an answer first, and a form to record each step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from telemachus.portal.adapters.services import ServiceRefused
from telemachus.portal.domain.profile_form import N_
from telemachus.portal.entrypoints.web import Page, Web
from telemachus.portal.service_layer.concerns import Concerns
from telemachus.portal.service_layer.participation import Participation
from telemachus.shared.security.tokens import Role

CONCERN_STATES = ("acknowledged", "in-progress", "resolved")
OUTCOMES = ("supported", "relationship-ended", "referred", "no-further-action")


def concern_step(page: Page, form: FormData) -> dict[str, Any]:
    """A step on a concern from its form (the coordinator's or the contact's): a state,
    an outcome when, and only when, it is resolved, an optional note, and whether to pause
    or resume the relationship."""
    status = str(form.get("status", ""))
    if status not in CONCERN_STATES:
        raise ServiceRefused(422, page._("Choose the concern's new state."), "status")
    outcome = str(form.get("outcome") or "") or None
    if status == "resolved" and outcome not in OUTCOMES:
        raise ServiceRefused(422, page._("Choose how the concern was resolved."), "outcome")
    relationship = str(form.get("relationship") or "")
    return {
        "status": status,
        "outcome": outcome if status == "resolved" else None,
        "note": str(form.get("note") or "") or None,
        # Resolving resumes a paused relationship by itself (feedback decides).
        "pause": {"pause": True, "resume": False}.get(relationship)
        if status != "resolved"
        else None,
    }


async def record_step(
    web: Web,
    concerns: Concerns,
    page: Page,
    lead: str,
    concern_id: str,
    then: Callable[[FormData], str],
) -> Response:
    """A step on a concern from its form, once; then to where `then` says."""
    form = await web.form(page)
    step = concern_step(page, form)
    if (earlier := await web.once(page, form)) is not None:
        return RedirectResponse(earlier, status_code=303)
    assert page.session is not None
    await concerns.follow_up(page.session, lead, concern_id, step)
    return await web.done(page, form, then(form))


def safeguarding_router(web: Web, concerns: Concerns, journey: Participation) -> APIRouter:
    router = APIRouter(prefix="/safeguarding")

    async def contact(request: Request) -> Page:
        return await web.with_role(
            request,
            Role.SAFEGUARDING,
            N_("This page is for your institution's safeguarding contacts."),
        )

    @router.get("", include_in_schema=False)
    async def concerns_page(request: Request) -> Response:
        page = await contact(request)
        assert page.session is not None
        names = await journey.institutions(page.session)
        found, unavailable = await concerns.raised_by_our_people(page.session, list(names))
        return page.render(
            "safeguarding.html",
            concerns=found,
            names=names,
            unavailable=[names.get(lead, lead) for lead in unavailable],
            concern_states=CONCERN_STATES,
            outcomes=OUTCOMES,
        )

    @router.post("/at/{lead}/concerns/{concern_id}", include_in_schema=False)
    async def follow_up(request: Request, lead: str, concern_id: str) -> Response:
        return await record_step(
            web,
            concerns,
            await contact(request),
            lead,
            concern_id,
            lambda _: f"/safeguarding?saved=concern-step#{concern_id}",
        )

    return router
