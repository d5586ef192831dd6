"""The participant's pages: home, profile, enrolment with consent, proposals,
relationships (contact, agreement, sessions, calendar, concern, exit), feedback forms,
and leaving. Each handler only translates between the page and the service layer."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from telemachus.portal.adapters.services import ServiceRefused
from telemachus.portal.domain.profile_form import (
    N_,
    NEEDED_FOR_MATCHING,
    SHAREABLE,
    SLOT_ROWS,
    Problem,
    form_values,
    read_profile,
    time_zones,
)
from telemachus.portal.entrypoints.web import Page, Web
from telemachus.portal.service_layer.participation import Participation

Json = dict[str, Any]
CONCERN_CATEGORIES = ("power-imbalance", "lack-of-confidence", "boundary", "time-burden", "other")
EXIT_REASONS = ("schedule", "topic-mismatch", "discomfort", "other")
# What a person may stop receiving by e-mail (identity's categories; coordination is staff's).
EMAIL_CATEGORIES = ("pairing", "relationship", "sessions", "feedback", "reminders")


def participant_router(web: Web, journey: Participation) -> APIRouter:
    router = APIRouter()

    async def signed_in(request: Request) -> tuple[Page, Any]:
        page = await web.signed_in(request)
        assert page.session is not None
        return page, page.session

    async def me_or_roster_page(page: Page) -> Json | HTMLResponse:
        assert page.session is not None
        me = await journey.me(page.session)
        if me is None:
            return page.render("not_on_roster.html", status=403)
        return me

    @router.get("/", include_in_schema=False)
    async def home(request: Request) -> Response:
        page = await web.page(request)
        if page.session is None:
            return page.render("welcome.html")
        board, names, topics = await asyncio.gather(
            journey.dashboard(page.session),
            journey.institutions(page.session),
            journey.topics(page.session),
        )
        return page.render("home.html", board=board, names=names, topics=topics)

    # Profile ----------------------------------------------------------------------------

    async def profile_page(
        page: Page, me: Json, values: Json, errors: Json, status: int = 200
    ) -> HTMLResponse:
        assert page.session is not None
        return page.render(
            "profile.html",
            status=status,
            me=me,
            values=values,
            errors=errors,
            topics=await journey.topics(page.session),
            zones=time_zones(),
            slot_rows=range(SLOT_ROWS),
        )

    @router.get("/profile", include_in_schema=False)
    async def profile(request: Request) -> Response:
        page, _ = await signed_in(request)
        me = await me_or_roster_page(page)
        if isinstance(me, HTMLResponse):
            return me
        return await profile_page(page, me, form_values(me), {})

    @router.post("/profile", include_in_schema=False)
    async def save_profile(request: Request) -> Response:
        page, session = await signed_in(request)
        form = await web.form(page)
        me = await me_or_roster_page(page)
        if isinstance(me, HTMLResponse):
            return me
        checked = read_profile(
            {k: v for k, v in form.items() if isinstance(v, str)},
            list(await journey.topics(session)),
        )
        if not checked.valid:
            return await profile_page(page, me, checked.values, checked.errors, status=422)
        if (earlier := await web.once(page, form)) is not None:
            return RedirectResponse(earlier, status_code=303)
        try:
            await journey.update_profile(session, me, checked.changes)
        except ServiceRefused as refused:
            if refused.status == 422:
                problem = {refused.field or "profile": Problem(refused.reason)}
                return await profile_page(page, me, checked.values, problem, status=422)
            raise
        return await web.done(page, form, "/?saved=profile")

    # Enrolment with consent -----------------------------------------------------------

    async def consent_page(
        page: Page, program: Json, action: str, chosen: list[str], error: str | None = None
    ) -> HTMLResponse:
        assert page.session is not None
        names = await journey.institutions(page.session)
        return page.render(
            "consent.html",
            status=422 if error else 200,
            program=program,
            names=names,
            partner_names=", ".join(names.get(p, p) for p in program["partner_institutions"]),
            fields=SHAREABLE,
            needed=NEEDED_FOR_MATCHING,
            chosen=chosen,
            action=action,
            error=error,
        )

    @router.get("/programs/{program_id}/join", include_in_schema=False)
    async def join(request: Request, program_id: str) -> Response:
        page, session = await signed_in(request)
        program = await journey.program(session, program_id)
        return await consent_page(page, program, f"/programs/{program_id}/join", [])

    @router.post("/programs/{program_id}/join", include_in_schema=False)
    async def give_consent(request: Request, program_id: str) -> Response:
        page, session = await signed_in(request)
        form = await web.form(page)
        chosen = [f for f in form.getlist("field") if isinstance(f, str) and f in SHAREABLE]
        program = await journey.program(session, program_id)
        if not chosen:
            return await consent_page(page, program, f"/programs/{program_id}/join", chosen, "none")
        if (earlier := await web.once(page, form)) is not None:
            return RedirectResponse(earlier, status_code=303)
        me = await me_or_roster_page(page)
        if isinstance(me, HTMLResponse):
            return me
        await journey.enrol(session, me, program_id, chosen)
        return await web.done(page, form, "/?saved=enrolled")

    @router.get("/invitations/{invitation_id}", include_in_schema=False)
    async def invitation(request: Request, invitation_id: str) -> Response:
        page, _ = await signed_in(request)
        return await invitation_consent(page, invitation_id, [], None)

    async def invitation_consent(
        page: Page, invitation_id: str, chosen: list[str], error: str | None
    ) -> HTMLResponse:
        """The consent page of an invitation still open to this person."""
        assert page.session is not None
        found = next(
            (i for i in await journey.invitations(page.session) if i["id"] == invitation_id),
            None,
        )
        if found is None:
            raise ServiceRefused(404, page._("This invitation is no longer open."))
        program = await journey.program(page.session, found["program_id"])
        return await consent_page(page, program, f"/invitations/{invitation_id}", chosen, error)

    @router.post("/invitations/{invitation_id}", include_in_schema=False)
    async def answer_invitation(request: Request, invitation_id: str) -> Response:
        page, session = await signed_in(request)
        form = await web.form(page)
        decline = form.get("decision") == "decline"
        chosen = [f for f in form.getlist("field") if isinstance(f, str) and f in SHAREABLE]
        if not decline and not chosen:
            return await invitation_consent(page, invitation_id, chosen, "none")
        if (earlier := await web.once(page, form)) is not None:
            return RedirectResponse(earlier, status_code=303)
        await journey.answer_invitation(session, invitation_id, not decline, chosen)
        return await web.done(page, form, "/?saved=" + ("declined" if decline else "enrolled"))

    # Proposals ------------------------------------------------------------------------

    @router.get("/at/{lead}/proposals/{pairing_id}", include_in_schema=False)
    async def proposal(request: Request, lead: str, pairing_id: str) -> Response:
        page, session = await signed_in(request)
        me = await me_or_roster_page(page)
        if isinstance(me, HTMLResponse):
            return me
        pairing = await journey.pairing(session, lead, pairing_id)
        card = (
            await journey.contact_card(session, me, pairing_id)
            if pairing["status"] == "confirmed"
            else None
        )
        return page.render(
            "proposal.html",
            pairing=pairing,
            me=me,
            lead=lead,
            card=card,
            topics=await journey.topics(session),
        )

    @router.post("/at/{lead}/proposals/{pairing_id}", include_in_schema=False)
    async def respond(request: Request, lead: str, pairing_id: str) -> Response:
        page, session = await signed_in(request)
        form = await web.form(page)
        if (earlier := await web.once(page, form)) is not None:
            return RedirectResponse(earlier, status_code=303)
        await journey.respond(session, lead, pairing_id, form.get("decision") == "accept")
        return await web.done(page, form, f"/at/{lead}/proposals/{pairing_id}")

    # Relationships --------------------------------------------------------------------

    async def relationship_page(
        page: Page,
        lead: str,
        relationship_id: str,
        errors: Json | None = None,
        values: Json | None = None,
    ) -> HTMLResponse:
        assert page.session is not None
        session = page.session
        me = await me_or_roster_page(page)
        if isinstance(me, HTMLResponse):
            return me
        relationship, all_windows, all_concerns, topics = await asyncio.gather(
            journey.relationship(session, lead, relationship_id),
            journey.feedback_windows(session, lead),
            journey.my_concerns(session, lead),
            journey.topics(session),
        )
        rules = await journey.ground_rules(session, lead, relationship["program_id"])
        card = await journey.contact_card(session, me, relationship["pairing_id"])
        windows = [w for w in all_windows if w["window"]["relationship_id"] == relationship_id]
        concerns = [c for c in all_concerns if c.get("relationship_id") == relationship_id]
        role = "mentor" if relationship["mentor_ref"] == me["ref"] else "mentee"
        zone = (me.get("availability") or {}).get("time_zone") or "UTC"
        return page.render(
            "relationship.html",
            status=422 if errors else 200,
            relationship=relationship,
            lead=lead,
            me=me,
            role=role,
            card=card,
            windows=windows,
            concerns=concerns,
            zone=zone,
            local=lambda moment: _local(moment, zone),
            categories=CONCERN_CATEGORIES,
            reasons=EXIT_REASONS,
            errors=errors or {},
            values=values or {},
            topics=topics,
            rules=rules,
        )

    @router.get("/at/{lead}/relationships/{relationship_id}", include_in_schema=False)
    async def relationship(request: Request, lead: str, relationship_id: str) -> Response:
        page, _ = await signed_in(request)
        return await relationship_page(page, lead, relationship_id)

    @router.post("/at/{lead}/relationships/{relationship_id}/{action}", include_in_schema=False)
    async def relationship_act(
        request: Request, lead: str, relationship_id: str, action: str
    ) -> Response:
        page, session = await signed_in(request)
        form = await web.form(page)
        here = f"/at/{lead}/relationships/{relationship_id}"
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        try:
            call = _relationship_call(action, fields)
        except FormIncomplete as problem:
            return await relationship_page(
                page, lead, relationship_id, {problem.field: Problem(problem.message)}, fields
            )
        if (earlier := await web.once(page, form)) is not None:
            return RedirectResponse(earlier, status_code=303)
        try:
            if call is None:  # a concern goes to feedback, the rest to sessions
                await journey.report_concern(
                    session,
                    lead,
                    relationship_id,
                    fields.get("category", ""),
                    fields.get("text") or None,
                )
                return await web.done(page, form, f"{here}?saved=concern#concern")
            path, body = call
            await journey.act(session, lead, relationship_id, path, body)
        except ServiceRefused as refused:
            if refused.status in (409, 422):
                return await relationship_page(
                    page, lead, relationship_id, {action: Problem(refused.reason)}, fields
                )
            raise
        # The notice names the kind of act, not the session it was about.
        kind = next(
            (k for k in ("session-confirm", "session-cancel") if action.startswith(k + "-")),
            action,
        )
        after = "/?saved=exited" if action == "exit" else f"{here}?saved={kind}"
        return await web.done(page, form, after)

    @router.post("/at/{lead}/calendar", include_in_schema=False)
    async def calendar(request: Request, lead: str) -> Response:
        page, session = await signed_in(request)
        await web.form(page)
        url = await journey.open_calendar(session, lead)
        return page.render("calendar.html", url=url, webcal="webcal://" + url.split("://", 1)[-1])

    # Feedback -------------------------------------------------------------------------

    async def find_form(
        page: Page, lead: str, window_id: str, instrument: str
    ) -> tuple[Json, Json]:
        assert page.session is not None
        for mine in await journey.feedback_windows(page.session, lead):
            if mine["window"]["id"] == window_id:
                for item in mine["instruments"]:
                    if item["key"] == instrument:
                        return mine, item
        raise ServiceRefused(404, page._("This feedback form is not open to you."))

    @router.get("/at/{lead}/feedback/{window_id}/{instrument}", include_in_schema=False)
    async def feedback_form(
        request: Request, lead: str, window_id: str, instrument: str
    ) -> Response:
        page, _ = await signed_in(request)
        mine, form_of = await find_form(page, lead, window_id, instrument)
        return page.render(
            "feedback.html", mine=mine, instrument=form_of, lead=lead, errors={}, values={}
        )

    @router.post("/at/{lead}/feedback/{window_id}/{instrument}", include_in_schema=False)
    async def give_feedback(
        request: Request, lead: str, window_id: str, instrument: str
    ) -> Response:
        page, session = await signed_in(request)
        form = await web.form(page)
        mine, form_of = await find_form(page, lead, window_id, instrument)
        answers: dict[str, int] = {}
        errors: Json = {}
        for item in form_of["items"]:
            value = form.get(f"item-{item['id']}")
            if value not in ("1", "2", "3", "4", "5"):
                errors[item["id"]] = Problem(N_("choose one answer from 1 to 5"))
            else:
                answers[item["id"]] = int(str(value))
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        if errors:
            return page.render(
                "feedback.html",
                status=422,
                mine=mine,
                instrument=form_of,
                lead=lead,
                errors=errors,
                values=values,
            )
        if (earlier := await web.once(page, form)) is not None:
            return RedirectResponse(earlier, status_code=303)
        comment = str(form.get("comment") or "").strip() or None
        await journey.answer(session, lead, window_id, instrument, answers, comment)
        return await web.done(
            page,
            form,
            f"/at/{lead}/relationships/{mine['window']['relationship_id']}?saved=feedback",
        )

    # Leaving --------------------------------------------------------------------------

    @router.get("/leave", include_in_schema=False)
    async def leave(request: Request) -> Response:
        page, _ = await signed_in(request)
        me = await me_or_roster_page(page)
        if isinstance(me, HTMLResponse):
            return me
        return await leave_page(page, me)

    async def leave_page(
        page: Page, me: Json, status: int = 200, unconfirmed: str | None = None
    ) -> HTMLResponse:
        """What leaving would do, for each program the person is still in."""
        assert page.session is not None
        programs = {p["id"]: p for p in await journey.programs(page.session)}
        active = [e for e in me["enrolments"] if e.get("withdrawn_at") is None]
        return page.render(
            "leave.html",
            status=status,
            me=me,
            active=active,
            programs=programs,
            unconfirmed=unconfirmed,
        )

    @router.post("/leave/{what}", include_in_schema=False)
    async def do_leave(request: Request, what: str) -> Response:
        page, session = await signed_in(request)
        form = await web.form(page)
        me = await me_or_roster_page(page)
        if isinstance(me, HTMLResponse):
            return me
        if form.get("confirm") != "yes":
            return await leave_page(page, me, status=422, unconfirmed=what)
        if (earlier := await web.once(page, form)) is not None:
            return RedirectResponse(earlier, status_code=303)
        if what == "erase":
            await journey.erase(session, me)
            return await web.done(page, form, "/?saved=erased")
        await journey.withdraw(session, me, str(form.get("program_id", "")))
        return await web.done(page, form, "/?saved=withdrawn")

    # Notifications ----------------------------------------------------------------------

    @router.get("/notifications", include_in_schema=False)
    async def notifications(request: Request) -> Response:
        page, session = await signed_in(request)
        me = await me_or_roster_page(page)
        if isinstance(me, HTMLResponse):
            return me
        notices, unread = await journey.notices(session, page.language)
        return page.render("notifications.html", notices=notices, unread=unread)

    @router.post("/notifications/read", include_in_schema=False)
    async def mark_read(request: Request) -> Response:
        page, session = await signed_in(request)
        await web.form(page)  # checks the CSRF token; marking read twice changes nothing
        await journey.mark_read(session)
        return RedirectResponse("/notifications?saved=read", status_code=303)

    # Settings -------------------------------------------------------------------------

    @router.get("/settings", include_in_schema=False)
    async def settings_page(request: Request) -> Response:
        page, session = await signed_in(request)
        me = await journey.me(session)
        email = await journey.email_settings(session) if me is not None else None
        return page.render("settings.html", email=email, categories=EMAIL_CATEGORIES)

    @router.post("/settings/email", include_in_schema=False)
    async def save_email(request: Request) -> Response:
        page, session = await signed_in(request)
        form = await web.form(page)
        chosen = {
            "email": {c: form.get(f"email-{c}") == "on" for c in EMAIL_CATEGORIES},
            "frequency": "weekly" if form.get("frequency") == "weekly" else "immediately",
        }
        await journey.save_email_settings(session, chosen)
        return RedirectResponse("/settings?saved=email", status_code=303)

    @router.post("/settings", include_in_schema=False)
    async def save_settings(request: Request) -> Response:
        page, session = await signed_in(request)
        form = await web.form(page)
        chosen = form.get("language")
        language = chosen if isinstance(chosen, str) and web.catalogs.supports(chosen) else None
        await web.store.set_language(session.subject, language)
        return RedirectResponse("/settings?saved=language", status_code=303)

    return router


class FormIncomplete(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _local(moment: str, zone: str) -> datetime:
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    return datetime.fromisoformat(moment).astimezone(tz)


def _relationship_call(action: str, fields: dict[str, str]) -> tuple[str, Json | None] | None:
    """The sessions API call a relationship form makes; FormIncomplete names the field.
    None: a concern (the feedback service's)."""
    if action == "agreement":
        mentor = [
            line.strip()
            for line in fields.get("mentor_objectives", "").splitlines()
            if line.strip()
        ]
        mentee = [
            line.strip()
            for line in fields.get("mentee_objectives", "").splitlines()
            if line.strip()
        ]
        if not mentor:
            raise FormIncomplete(
                "mentor_objectives", N_("write at least one thing the mentor will learn")
            )
        if not mentee:
            raise FormIncomplete(
                "mentee_objectives", N_("write at least one thing the mentee will learn")
            )
        cadence = fields.get("cadence_weeks", "2")
        if not cadence.isdigit() or not 1 <= int(cadence) <= 12:
            raise FormIncomplete("cadence_weeks", N_("a session every 1 to 12 weeks"))
        return "agreement", {
            "mentor_objectives": mentor,
            "mentee_objectives": mentee,
            "cadence_weeks": int(cadence),
        }
    if action == "agreement-confirm":
        return "agreement/confirmations", {"revision": int(fields.get("revision", "0") or 0)}
    if action == "session":
        try:
            zone = ZoneInfo(fields.get("zone", "UTC"))
            starts = datetime.fromisoformat(f"{fields.get('date', '')}T{fields.get('time', '')}")
        except (ValueError, ZoneInfoNotFoundError):
            raise FormIncomplete(
                "date", N_("give the day and the time the session starts")
            ) from None
        minutes = fields.get("minutes", "60")
        if not minutes.isdigit() or not 15 <= int(minutes) <= 240:
            raise FormIncomplete("minutes", N_("from 15 to 240 minutes"))
        body: Json = {
            "starts_at": starts.replace(tzinfo=zone).isoformat(),
            "minutes": int(minutes),
            "format": fields.get("format", "virtual"),
        }
        if fields.get("place"):
            body["place"] = fields["place"]
        if fields.get("link"):
            body["link"] = fields["link"]
        return "sessions", body
    if action.startswith("session-confirm-"):
        return f"sessions/{action.removeprefix('session-confirm-')}/confirmation", None
    if action.startswith("session-cancel-"):
        return f"sessions/{action.removeprefix('session-cancel-')}/cancel", None
    if action == "exit":
        if fields.get("reason") not in EXIT_REASONS:
            raise FormIncomplete("reason", N_("choose why (only counted, never shown to anyone)"))
        return "exit", {"reason": fields["reason"], "rematch": fields.get("rematch") == "yes"}
    if action == "concern":
        if fields.get("category") not in CONCERN_CATEGORIES:
            raise FormIncomplete("category", N_("choose what the concern is about"))
        return None
    raise FormIncomplete("action", N_("this page has no such form"))
