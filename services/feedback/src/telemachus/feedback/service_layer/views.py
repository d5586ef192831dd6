"""Read side of feedback. An answer is read only by its author; coordinators read
aggregates, concerns and windows, never an individual answer."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from telemachus.feedback.domain.model import (
    Concern,
    FeedbackWindow,
    Pairing,
    Participant,
    Program,
    Relationship,
    Response,
)
from telemachus.feedback.reporting.evaluation import ProgramFacts
from telemachus.feedback.service_layer.handlers import involving
from telemachus.feedback.service_layer.unit_of_work import (
    CONCERNS,
    PAIRINGS,
    PARTICIPANTS,
    PROGRAMS,
    RELATIONSHIPS,
    RESPONSES,
    WINDOWS,
)
from telemachus.shared.runtime.documents import from_document
from telemachus.shared.runtime.store import Document
from telemachus.shared.runtime.views import A, read_many, read_one


class FeedbackViews:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._db = db

    async def program(self, program_id: str) -> Program | None:
        return await read_one(self._db, PROGRAMS, Program, program_id)

    async def window(self, window_id: str) -> FeedbackWindow | None:
        return await read_one(self._db, WINDOWS, FeedbackWindow, window_id)

    async def windows_of(self, ref: str) -> list[FeedbackWindow]:
        return await read_many(self._db, WINDOWS, FeedbackWindow, involving(ref))

    async def program_windows(self, program_id: str) -> list[FeedbackWindow]:
        return await read_many(self._db, WINDOWS, FeedbackWindow, {"program_id": program_id})

    async def response(self, response_id: str) -> Response | None:
        return await read_one(self._db, RESPONSES, Response, response_id)

    async def responses_by(self, ref: str) -> list[Response]:
        return await read_many(self._db, RESPONSES, Response, {"respondent_ref": ref})

    async def concern(self, concern_id: str) -> Concern | None:
        return await read_one(self._db, CONCERNS, Concern, concern_id)

    async def concerns(self, program_id: str) -> list[Concern]:
        return await read_many(self._db, CONCERNS, Concern, {"program_id": program_id})

    async def concerns_by(self, ref: str) -> list[Concern]:
        return await read_many(self._db, CONCERNS, Concern, {"reporter_ref": ref})

    async def _all(self, collection: str, model: type[A], program_id: str) -> list[A]:
        # Reports need every row, not the first page that listings return.
        cursor = self._db[collection].find({"program_id": program_id}).sort("_id")
        return [from_document(model, d) for d in await cursor.to_list(None)]

    async def facts(self, program: Program) -> ProgramFacts:
        return ProgramFacts(
            program=program,
            participants=await self._all(PARTICIPANTS, Participant, program.id),
            pairings=await self._all(PAIRINGS, Pairing, program.id),
            relationships=await self._all(RELATIONSHIPS, Relationship, program.id),
            responses=await self._all(RESPONSES, Response, program.id),
            concerns=await self._all(CONCERNS, Concern, program.id),
        )
