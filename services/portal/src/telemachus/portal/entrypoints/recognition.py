"""A participant's certificates: agreeing (or no longer) that their home issues one for a
program, and downloading it. Issued only here, at the person's home, to the person."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from telemachus.portal.domain.certificate import NoConsent
from telemachus.portal.entrypoints.web import Page, Web
from telemachus.portal.service_layer.recognition import Recognition


def recognition_router(web: Web, journey: Recognition, font: Path | None) -> APIRouter:
    router = APIRouter()

    async def certificates_page(page: Page, refused: bool = False) -> HTMLResponse:
        assert page.session is not None
        me, programs = await asyncio.gather(
            journey.me(page.session), journey.programs(page.session)
        )
        if me is None:
            return page.render("not_on_roster.html", status=403)
        latest = {e["program_id"]: e for e in me["enrolments"]}  # the latest of each program
        return page.render(
            "certificates.html",
            status=403 if refused else 200,
            enrolments=list(latest.values()),
            titles={p["id"]: p["title"] for p in programs},
            refused=refused,
        )

    @router.get("/certificates", include_in_schema=False)
    async def certificates(request: Request) -> Response:
        return await certificates_page(await web.signed_in(request))

    @router.post("/certificates/{program_id}/consent", include_in_schema=False)
    async def consent(request: Request, program_id: str) -> Response:
        page = await web.signed_in(request)
        form = await web.form(page)
        if (earlier := await web.once(page, form)) is not None:
            return RedirectResponse(earlier, status_code=303)
        assert page.session is not None
        me = await journey.me(page.session)
        if me is None:
            return page.render("not_on_roster.html", status=403)
        agreed = form.get("consent") == "yes"
        await journey.consent_to_certificate(page.session, me, program_id, agreed)
        return await web.done(page, form, f"/certificates#{program_id}")

    @router.get("/certificates/{program_id}.pdf", include_in_schema=False)
    async def download(request: Request, program_id: str) -> Response:
        page = await web.signed_in(request)
        assert page.session is not None
        me = await journey.me(page.session)
        if me is None:
            return page.render("not_on_roster.html", status=403)
        try:
            made = await journey.certificate(page.session, me, program_id, datetime.now(UTC).date())
        except NoConsent:
            return await certificates_page(page, refused=True)
        name = re.sub(r"[^A-Za-z0-9-]+", "-", made.program).strip("-") or "program"
        # Imported here: fpdf2 and fontTools take over a second to import, and only a
        # download needs them, not every start of the portal.
        from telemachus.portal.adapters.pdf import render

        return Response(
            render(made, font),
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="certificate-{name}.pdf"',
                "Cache-Control": "no-store",
            },
        )

    return router
