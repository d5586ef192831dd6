"""HTTP API of sessions: relationships, agreements, sessions, attendance, exits, calendars.

Participants act on their own relationships with a token from their home issuer that
carries their reference; coordinators see their program's relationships, never private
notes, and exit reasons only as counts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from telemachus.sessions.domain import calendar, commands
from telemachus.sessions.domain.model import (
    AgreementTerms,
    Attendance,
    ExitReason,
    Format,
    PrivateNote,
    ProgramSettings,
    Relationship,
)
from telemachus.sessions.service_layer.handlers import feed_key, utc_now
from telemachus.sessions.service_layer.views import SessionsViews
from telemachus.shared.disclosure import suppressed_counts
from telemachus.shared.errors import Forbidden, found
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.paging import PAGED, Page
from telemachus.shared.runtime.views import led_programs
from telemachus.shared.security.access import (
    acting_party,
    coordinator_scope,
    participant_ref,
    sees,
)
from telemachus.shared.security.tokens import Principal


class Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Confirmation(Body):
    revision: int = Field(ge=1)


class SessionRequest(Body):
    starts_at: datetime = Field(description="with its UTC offset, e.g. 2026-12-08T09:00:00Z")
    minutes: int = 60
    format: Format
    place: str | None = Field(default=None, max_length=200)
    link: HttpUrl | None = None


class NewTime(Body):
    starts_at: datetime
    minutes: int = 60


class AttendanceRequest(Body):
    attended: Attendance
    note: str | None = Field(default=None, max_length=5000, description="private to you")


class ExitRequest(Body):
    reason: ExitReason = Field(description="confidential: counted, never shown")
    rematch: bool = True


class CalendarRequest(Body):
    time_zone: str | None = Field(
        default=None,
        max_length=64,
        examples=["Europe/London"],
        description="the IANA zone the feed's times are written in; by default that of "
        "your shared availability, else UTC",
    )

    @field_validator("time_zone")
    @classmethod
    def _iana(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"{value!r} is not an IANA time zone") from None
        return value


class StallSettings(Body):
    stall_weeks: int = Field(ge=1, le=26)


class ExitCounts(BaseModel):
    threshold: int = Field(description="the program's smallest group shown")
    reasons: dict[str, int | None] = Field(
        description="early exits per reason category; null where the group is hidden "
        "(fewer than the threshold, or hidden so that subtraction reveals no small group)"
    )


class CalendarLink(BaseModel):
    url: str


SecretPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{20,64}$")]


def sessions_router(
    bus: MessageBus,
    views: SessionsViews,
    institution: str,
    authenticate: Callable[..., Awaitable[Principal]],
) -> APIRouter:
    router = APIRouter(tags=["sessions"])

    program_of = led_programs(views.program, institution)

    async def act(command: commands.ByParticipant) -> Relationship:
        relationship: Relationship = await bus.handle(command)
        return relationship

    async def act_for_circle(command: commands.ByCircleLead) -> list[Relationship]:
        seats: list[Relationship] = await bus.handle(command)
        return seats

    @router.get(
        "/relationships/me",
        response_model=list[Relationship],
        responses=PAGED,
        summary="Your relationships in programs this institution leads",
    )
    async def mine(
        page: Page = Depends(), who: Principal = Depends(authenticate)
    ) -> list[Relationship]:
        return page.of(await views.relationships_of(participant_ref(who)))

    @router.get("/relationships/{relationship_id}", response_model=Relationship)
    async def get_relationship(
        relationship_id: str, who: Principal = Depends(authenticate)
    ) -> Relationship:
        relationship = found(
            await views.relationship(relationship_id),
            f"relationship {relationship_id}",
            field="relationship_id",
        )
        if acting_party(who) in relationship.parties:
            return relationship
        program = await program_of(relationship.program_id)
        scope = coordinator_scope(who, institution, program.partner_institutions, program.id)
        if any(sees(scope, ref) for ref in relationship.parties):
            return relationship
        raise Forbidden("this relationship involves none of your institution's people")

    @router.put(
        "/relationships/{relationship_id}/agreement",
        response_model=Relationship,
        summary="Propose the learning agreement (a change needs both confirmations again)",
    )
    async def propose_agreement(
        relationship_id: str, body: AgreementTerms, who: Principal = Depends(authenticate)
    ) -> Relationship:
        return await act(
            commands.ProposeAgreement(principal=who, relationship_id=relationship_id, terms=body)
        )

    @router.put(
        "/circles/{circle_id}/agreement",
        response_model=list[Relationship],
        summary="A circle's lead proposes one learning agreement to every member; each "
        "member confirms it on their own relationship",
    )
    async def propose_circle_agreement(
        circle_id: str, body: AgreementTerms, who: Principal = Depends(authenticate)
    ) -> list[Relationship]:
        return await act_for_circle(
            commands.ProposeCircleAgreement(principal=who, circle_id=circle_id, terms=body)
        )

    @router.post(
        "/circles/{circle_id}/sessions",
        response_model=list[Relationship],
        summary="A circle's lead proposes one meeting to every member (all or none); each "
        "member confirms their own seat",
    )
    async def propose_circle_session(
        circle_id: str, body: SessionRequest, who: Principal = Depends(authenticate)
    ) -> list[Relationship]:
        return await act_for_circle(
            commands.ProposeCircleSession(principal=who, circle_id=circle_id, **body.model_dump())
        )

    @router.post(
        "/relationships/{relationship_id}/agreement/confirmations", response_model=Relationship
    )
    async def confirm_agreement(
        relationship_id: str, body: Confirmation, who: Principal = Depends(authenticate)
    ) -> Relationship:
        return await act(
            commands.ConfirmAgreement(
                principal=who, relationship_id=relationship_id, revision=body.revision
            )
        )

    @router.post(
        "/relationships/{relationship_id}/sessions",
        response_model=Relationship,
        summary="Propose a session inside both people's availability",
    )
    async def propose_session(
        relationship_id: str, body: SessionRequest, who: Principal = Depends(authenticate)
    ) -> Relationship:
        return await act(
            commands.ProposeSession(
                principal=who, relationship_id=relationship_id, **body.model_dump()
            )
        )

    @router.post(
        "/relationships/{relationship_id}/sessions/{session_id}/confirmation",
        response_model=Relationship,
    )
    async def confirm_session(
        relationship_id: str, session_id: str, who: Principal = Depends(authenticate)
    ) -> Relationship:
        return await act(
            commands.ConfirmSession(
                principal=who, relationship_id=relationship_id, session_id=session_id
            )
        )

    @router.post(
        "/relationships/{relationship_id}/sessions/{session_id}/reschedule",
        response_model=Relationship,
        summary="Propose a new time; the other party confirms it",
    )
    async def reschedule(
        relationship_id: str,
        session_id: str,
        body: NewTime,
        who: Principal = Depends(authenticate),
    ) -> Relationship:
        return await act(
            commands.RescheduleSession(
                principal=who,
                relationship_id=relationship_id,
                session_id=session_id,
                **body.model_dump(),
            )
        )

    @router.post(
        "/relationships/{relationship_id}/sessions/{session_id}/cancel",
        response_model=Relationship,
    )
    async def cancel(
        relationship_id: str, session_id: str, who: Principal = Depends(authenticate)
    ) -> Relationship:
        return await act(
            commands.CancelSession(
                principal=who, relationship_id=relationship_id, session_id=session_id
            )
        )

    @router.post(
        "/relationships/{relationship_id}/sessions/{session_id}/attendance",
        response_model=Relationship,
        summary="After the session: held or missed, with an optional private note",
    )
    async def attendance(
        relationship_id: str,
        session_id: str,
        body: AttendanceRequest,
        who: Principal = Depends(authenticate),
    ) -> Relationship:
        return await act(
            commands.RecordAttendance(
                principal=who,
                relationship_id=relationship_id,
                session_id=session_id,
                **body.model_dump(),
            )
        )

    @router.get(
        "/relationships/{relationship_id}/notes/me",
        response_model=list[PrivateNote],
        responses=PAGED,
        summary="Your own private notes; nobody else can read them",
    )
    async def my_notes(
        relationship_id: str, page: Page = Depends(), who: Principal = Depends(authenticate)
    ) -> list[PrivateNote]:
        return page.of(await views.notes_by(participant_ref(who), relationship_id))

    @router.post(
        "/relationships/{relationship_id}/exit",
        response_model=Relationship,
        summary="End the relationship early, without blame; the reason stays confidential",
    )
    async def exit_relationship(
        relationship_id: str, body: ExitRequest, who: Principal = Depends(authenticate)
    ) -> Relationship:
        return await act(
            commands.ExitRelationship(
                principal=who, relationship_id=relationship_id, **body.model_dump()
            )
        )

    @router.post("/relationships/{relationship_id}/rematch", response_model=Relationship)
    async def rematch(relationship_id: str, who: Principal = Depends(authenticate)) -> Relationship:
        return await act(commands.RequestRematch(principal=who, relationship_id=relationship_id))

    @router.post(
        "/calendar/me",
        response_model=CalendarLink,
        summary="A new secret calendar URL for your sessions (the old one stops working)",
    )
    async def open_calendar(
        request: Request,
        body: CalendarRequest | None = None,
        who: Principal = Depends(authenticate),
    ) -> CalendarLink:
        zone = body.time_zone if body else None
        secret: str = await bus.handle(commands.OpenCalendar(principal=who, time_zone=zone))
        return CalendarLink(url=str(request.url_for("calendar_feed", secret=secret)))

    @router.delete("/calendar/me", status_code=204, summary="Revoke your calendar URL")
    async def close_calendar(who: Principal = Depends(authenticate)) -> Response:
        await bus.handle(commands.CloseCalendar(principal=who))
        return Response(status_code=204)

    @router.get(
        "/calendar/{secret}.ics",
        name="calendar_feed",
        response_class=Response,
        summary="Your sessions as iCalendar; the secret in the URL is the credential",
    )
    async def calendar_feed(
        secret: SecretPath, if_none_match: str | None = Header(default=None)
    ) -> Response:
        feed = found(await views.feed(feed_key(secret)), "calendar", field="secret")
        relationships = await views.relationships_of(feed.participant_ref)
        zone = ZoneInfo(feed.time_zone or await views.time_zone_of(feed.participant_ref) or "UTC")
        # Weak: the same sessions give the same feed but for its DTSTAMP.
        etag = f'W/"{calendar.version(relationships, zone)}"'
        headers = {"Cache-Control": "private, max-age=300", "ETag": etag}
        if if_none_match and etag in (tag.strip() for tag in if_none_match.split(",")):
            return Response(status_code=304, headers=headers)
        return Response(
            calendar.feed(feed.participant_ref, relationships, utc_now(), zone),
            media_type="text/calendar; charset=utf-8",
            headers=headers,
        )

    @router.get(
        "/programs/{program_id}/relationships",
        response_model=list[Relationship],
        responses=PAGED,
        summary="A program's relationships (coordinators; partners see their own people)",
    )
    async def program_relationships(
        program_id: str,
        stalled: bool = False,
        page: Page = Depends(),
        who: Principal = Depends(authenticate),
    ) -> list[Relationship]:
        program = await program_of(program_id)
        scope = coordinator_scope(who, institution, program.partner_institutions, program_id)
        return page.of(
            [
                r
                for r in await views.relationships(program_id)
                if any(sees(scope, ref) for ref in r.parties)
                and (not stalled or r.stalled_since is not None)
            ]
        )

    @router.get(
        "/programs/{program_id}/exits",
        response_model=ExitCounts,
        summary="Early exits by reason category: counts only, small groups hidden (the "
        "lead's coordinators)",
    )
    async def exits(program_id: str, who: Principal = Depends(authenticate)) -> ExitCounts:
        program = await program_of(program_id)
        if (
            coordinator_scope(who, institution, program.partner_institutions, program_id)
            is not None
        ):
            raise Forbidden("exit counts are for the lead's coordinators", field="program_id")
        threshold = program.reporting_threshold
        counts = await views.exit_counts(program_id)
        return ExitCounts(threshold=threshold, reasons=suppressed_counts(counts, threshold))

    @router.put("/programs/{program_id}/settings", response_model=ProgramSettings)
    async def settings(
        program_id: str, body: StallSettings, who: Principal = Depends(authenticate)
    ) -> ProgramSettings:
        program: ProgramSettings = await bus.handle(
            commands.SetProgramSettings(principal=who, program_id=program_id, **body.model_dump())
        )
        return program

    return router
