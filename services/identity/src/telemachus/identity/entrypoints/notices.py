"""Notices over HTTP: a participant's list (the portal shows it), marking read, e-mail
settings; and for operators, the e-mails the relay would not take, to send again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from fastapi import APIRouter, Depends, Header, Response
from pydantic import BaseModel, Field
from pymongo.asynchronous.database import AsyncDatabase

from telemachus.identity.domain.participants import Participant
from telemachus.identity.entrypoints.callers import callers
from telemachus.identity.notifications.composer import Addressee, MailComposer, load_titles
from telemachus.identity.notifications.dispatch import retry_dead
from telemachus.identity.notifications.notices import Category, Notice, Preferences
from telemachus.identity.notifications.recording import MarkRead, SetPreferences
from telemachus.identity.service_layer.unit_of_work import MAIL_OUTBOX, NOTICE_PREFERENCES, NOTICES
from telemachus.identity.service_layer.views import IdentityViews
from telemachus.shared.clock import utc_now
from telemachus.shared.errors import Forbidden, NotFound
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.documents import from_document
from telemachus.shared.runtime.paging import PAGED, Page
from telemachus.shared.runtime.store import Document
from telemachus.shared.security.tokens import Principal, Role
from telemachus.shared.translations import Catalogs

NEWEST_FIRST = 10**10


class NoticeView(BaseModel):
    id: str
    kind: str
    category: Category
    required: bool
    subject: str = Field(description="in the reader's language")
    text: str
    action: str
    link: str = Field(description="the portal path where the reader acts on it")
    created_at: datetime
    read_at: datetime | None
    email: str = Field(description="off, queued, digest, sent or dead")


class ReadRequest(BaseModel):
    notice_ids: list[str] = Field(
        default_factory=list, max_length=500, description="empty: every unread notice"
    )


class ReadResult(BaseModel):
    marked: int


class DeadMail(BaseModel):
    notice_id: str
    kind: str
    tries: int
    reason: str | None
    dead_at: datetime | None


def _newest_first(notice: NoticeView) -> str:
    return f"{NEWEST_FIRST - int(notice.created_at.timestamp()):011d}-{notice.id}"


def notices_router(
    bus: MessageBus,
    db: AsyncDatabase[Document],
    views: IdentityViews,
    composer: MailComposer,
    institution: str,
    authenticate: Callable[..., Awaitable[Principal]],
) -> APIRouter:
    who_calls = callers(institution, authenticate, views)
    router = APIRouter(prefix="/notifications", tags=["notifications"])
    catalogs: Catalogs = composer.catalogs

    def language(person: Participant, accept_language: str | None) -> str:
        spoken = composer.language_of(list(person.languages))
        return catalogs.negotiate(None, accept_language) if accept_language else spoken

    @router.get("/me", response_model=list[NoticeView], responses=PAGED)
    async def my_notices(
        response: Response,
        unread: bool = False,
        page: Page = Depends(),
        accept_language: str | None = Header(None),
        person: Participant = Depends(who_calls.signed_in),
    ) -> list[NoticeView]:
        query: dict[str, object] = {"recipient": person.id}
        if unread:
            query["read_at"] = None
        documents = await db[NOTICES].find(query).to_list()
        notices = [from_document(Notice, d) for d in documents]
        titles = await load_titles(db, notices)
        zone = person.availability.time_zone if person.availability else "UTC"
        reader = Addressee(
            person.work_email, person.display_name, language(person, accept_language), zone
        )
        views_ = []
        for notice in notices:
            subject, text, action = composer.summary(notice, reader, titles)
            views_.append(
                NoticeView(
                    id=notice.id,
                    kind=notice.kind,
                    category=notice.kind.category,
                    required=notice.kind.required,
                    subject=subject,
                    text=text,
                    action=action,
                    link=composer.url(notice).removeprefix(composer.portal_url),
                    created_at=notice.created_at,
                    read_at=notice.read_at,
                    email=notice.email,
                )
            )
        response.headers["X-Unread-Count"] = str(sum(1 for n in notices if n.read_at is None))
        return page.of(views_, key=_newest_first)

    @router.post("/me/read", response_model=ReadResult)
    async def mark_read(
        body: ReadRequest, person: Participant = Depends(who_calls.signed_in)
    ) -> ReadResult:
        marked = await bus.handle(MarkRead(person.id, body.notice_ids))
        return ReadResult(marked=marked)

    @router.get("/me/preferences", response_model=Preferences)
    async def my_preferences(person: Participant = Depends(who_calls.signed_in)) -> Preferences:
        held = await db[NOTICE_PREFERENCES].find_one({"_id": person.id})
        return Preferences.model_validate(held) if held else Preferences()

    @router.put("/me/preferences", response_model=Preferences)
    async def set_preferences(
        body: Preferences, person: Participant = Depends(who_calls.signed_in)
    ) -> Preferences:
        # Categories not named keep their default (on): a new category is never silently off.
        chosen = Preferences(
            email={**dict.fromkeys(Category, True), **body.email}, frequency=body.frequency
        )
        await bus.handle(SetPreferences(person.id, chosen))
        return chosen

    async def operator(who: Principal = Depends(who_calls.principal)) -> Principal:
        if not who.has(Role.OPERATOR):
            raise Forbidden("only operators handle undelivered e-mail", field="role")
        return who

    @router.get("/dead-letters", response_model=list[DeadMail], responses=PAGED)
    async def dead_mail(
        page: Page = Depends(), who: Principal = Depends(operator)
    ) -> list[DeadMail]:
        rows = await db[MAIL_OUTBOX].find({"status": "dead"}).to_list()
        kinds = {
            n["_id"]: n["kind"]
            for n in await db[NOTICES]
            .find({"_id": {"$in": [r["_id"] for r in rows]}}, {"kind": 1})
            .to_list()
        }
        dead = [
            DeadMail(
                notice_id=r["_id"],
                kind=kinds.get(r["_id"], "?"),
                tries=r["tries"],
                reason=r.get("reason"),
                dead_at=r.get("dead_at"),
            )
            for r in rows
        ]
        return page.of(dead, key=lambda d: d.notice_id)

    @router.post("/dead-letters/{notice_id}/retry", status_code=202)
    async def retry(notice_id: str, who: Principal = Depends(operator)) -> dict[str, str]:
        if not await retry_dead(db, notice_id, utc_now()):
            raise NotFound(f"no dead-lettered e-mail {notice_id}", field="notice_id")
        return {"notice_id": notice_id, "status": "queued"}

    return router
