"""`/dead-letters`: a service's dead letters for its own institution's operators.

List and show say why each failed and where it came from (reason, detail, the original
topic and offset, the event's id, type and source, the producer's trace id). Replay runs
the original record through the same checks and handler again, after a fix: idempotent,
since the inbox remembers a handled event, and recorded (when, by whom, outcome).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends

from telemachus.shared.errors import Forbidden, NotFound, Rejected
from telemachus.shared.runtime.consumer import EventConsumer
from telemachus.shared.runtime.dead_letter_archive import DeadLetterArchive, NotReplayable
from telemachus.shared.runtime.paging import PAGED, Page
from telemachus.shared.security.tokens import Principal, Role

Authenticate = Callable[..., Awaitable[Principal]]


def dead_letter_router(
    archive: DeadLetterArchive,
    consumer: EventConsumer,
    institution: str,
    authenticate: Authenticate,
) -> APIRouter:
    router = APIRouter(prefix="/dead-letters", tags=["operations"])

    def operator(who: Principal = Depends(authenticate)) -> Principal:
        if who.institution != institution or not who.has(Role.OPERATOR):
            raise Forbidden(f"needs the operator role of {institution}")
        return who

    async def settled(letters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        replays = await archive.replays([letter["id"] for letter in letters])
        return [{**letter, "replayed": replays.get(letter["id"])} for letter in letters]

    @router.get("", summary="Dead letters of this service, oldest first", responses=PAGED)
    async def listed(
        page: Page = Depends(), who: Principal = Depends(operator)
    ) -> list[dict[str, Any]]:
        letters = [letter.summary() for letter in await archive.all()]
        return await settled(page.of(letters, key=lambda letter: letter["id"]))

    @router.get("/{letter_id}", summary="One dead letter, with the original headers")
    async def shown(letter_id: str, who: Principal = Depends(operator)) -> dict[str, Any]:
        letter = await archive.get(letter_id)
        if letter is None:
            raise NotFound(f"no dead letter {letter_id} on {archive.topic}")
        (shown_letter,) = await settled([letter.summary()])
        return {**shown_letter, "headers": letter.headers}

    @router.post(
        "/{letter_id}/replay",
        summary="Run the original event through this service again (after a fix)",
    )
    async def replayed(letter_id: str, who: Principal = Depends(operator)) -> dict[str, Any]:
        letter = await archive.get(letter_id)
        if letter is None:
            raise NotFound(f"no dead letter {letter_id} on {archive.topic}")
        try:
            outcome = await consumer.replay(letter.original())
        except NotReplayable as error:
            raise Rejected(str(error), field="letter_id") from error
        entry = await archive.record_replay(letter_id, outcome, who.subject)
        return {"id": letter_id, **entry}

    return router
