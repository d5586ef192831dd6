"""Read side of feedback. An answer is read only by its author; coordinators read
aggregates, concerns and windows, never an individual answer."""

from __future__ import annotations

from datetime import datetime

from pymongo import AsyncMongoClient, ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.read_concern import ReadConcern

from telemachus.feedback.domain.concerns import Concern
from telemachus.feedback.domain.model import (
    FeedbackWindow,
    Pairing,
    Participant,
    Program,
    Relationship,
    Response,
)
from telemachus.feedback.reporting.cells import Metric
from telemachus.feedback.reporting.evaluation import EvaluationReport, ProgramFacts
from telemachus.feedback.reporting.releases import Release, release_metrics, release_report
from telemachus.feedback.service_layer.handlers import involving
from telemachus.feedback.service_layer.unit_of_work import (
    CONCERNS,
    PAIRINGS,
    PARTICIPANTS,
    PROGRAMS,
    RELATIONSHIPS,
    RELEASES,
    RESPONSES,
    WINDOWS,
)
from telemachus.shared.runtime.documents import from_document
from telemachus.shared.runtime.store import Document
from telemachus.shared.runtime.views import A, read_many, read_one


class FeedbackViews:
    def __init__(self, client: AsyncMongoClient[Document], db: AsyncDatabase[Document]) -> None:
        self._client = client
        self._db = db

    async def released(self, report: EvaluationReport) -> EvaluationReport:
        """The report as the release rule lets it be shown (reporting/releases.py), storing
        what it releases anew."""
        previous = await self._releases({"program_id": report.program_id})
        shown, stored = release_report(report, previous)
        await self._store_releases(stored)
        return shown

    async def released_metrics(
        self, program: Program, metrics: list[Metric], now: datetime
    ) -> list[Metric]:
        """The same rule for metrics outside the report (a person's recognition)."""
        previous = await self._releases(
            {"_id": {"$in": [Release.key(program.id, m.id) for m in metrics]}}
        )
        shown, stored = release_metrics(
            program.id, metrics, previous, program.reporting_threshold, now
        )
        await self._store_releases(stored)
        return shown

    async def _releases(self, query: Document) -> dict[str, Release]:
        documents = await self._db[RELEASES].find(query).to_list()
        return {d["metric"]["id"]: Release.model_validate(d) for d in documents}

    async def _store_releases(self, stored: list[Release]) -> None:
        """Not part of a unit of work: no event, and two readers at once at worst both
        store the same release."""
        if stored:
            await self._db[RELEASES].bulk_write(
                [
                    ReplaceOne(
                        {"_id": Release.key(r.program_id, r.metric.id)},
                        r.model_dump(mode="json"),
                        upsert=True,
                    )
                    for r in stored
                ]
            )

    async def recognition_facts(
        self, program_id: str, ref: str
    ) -> tuple[list[Relationship], list[Response]]:
        """A person's relationships in a program and the answers given in them."""
        relationships = await read_many(
            self._db, RELATIONSHIPS, Relationship, {"program_id": program_id, **involving(ref)}
        )
        responses = await read_many(
            self._db,
            RESPONSES,
            Response,
            {"relationship_id": {"$in": [r.id for r in relationships]}},
        )
        return relationships, responses

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

    async def concerns_of_people_of(self, institution: str) -> list[Concern]:
        """Concerns whose reporter's home is `institution`: its safeguarding contacts'."""
        return await read_many(
            self._db, CONCERNS, Concern, {"reporter_ref": {"$regex": f"^{institution}:"}}
        )

    async def facts(self, program: Program) -> ProgramFacts:
        """Everything a report counts, read from one snapshot: an erasure committing
        between two reads would otherwise drop a person's answers but not their enrolment."""
        async with self._client.start_session() as session:
            await session.start_transaction(read_concern=ReadConcern("snapshot"))
            try:

                async def every(collection: str, model: type[A]) -> list[A]:
                    # Reports need every row, not the first page that listings return.
                    cursor = self._db[collection].find({"program_id": program.id}, session=session)
                    return [from_document(model, d) for d in await cursor.sort("_id").to_list()]

                return ProgramFacts(
                    program=program,
                    participants=await every(PARTICIPANTS, Participant),
                    pairings=await every(PAIRINGS, Pairing),
                    relationships=await every(RELATIONSHIPS, Relationship),
                    responses=await every(RESPONSES, Response),
                    concerns=await every(CONCERNS, Concern),
                )
            finally:
                await session.abort_transaction()  # read only: nothing to commit
