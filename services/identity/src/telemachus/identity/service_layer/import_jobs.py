"""Roster re-syncs run as jobs: the request gets a job id at once; the job parses, plans
and applies in chunks, and its record says how far it got, the errors so far and, at the
end, the report. A job cut short by a restart is marked interrupted: running the same
file again finishes it (rows already applied come out unchanged)."""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field
from pymongo.asynchronous.database import AsyncDatabase

from telemachus.identity.domain import commands
from telemachus.identity.service_layer import csv_import
from telemachus.identity.service_layer.roster_sync import SyncReport, plan_sync
from telemachus.identity.service_layer.views import IdentityViews
from telemachus.shared.errors import DomainError
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.store import Document

JOBS = "import_jobs"
CHUNK_ROWS = 500
log = logging.getLogger(__name__)

Status = Literal["running", "done", "refused", "failed", "interrupted"]


class SyncOptions(BaseModel):
    dry_run: bool = False
    accept_valid: bool = False
    flag_missing: bool = False


class ImportJob(BaseModel):
    id: str
    status: Status
    options: SyncOptions
    requested_by: str
    created_at: datetime
    finished_at: datetime | None = None
    rows_total: int = 0
    rows_applied: int = 0
    errors_so_far: int = 0
    report: SyncReport | None = None
    error: str | None = Field(default=None, description="why the job refused or failed")


class ImportJobs:
    def __init__(self, db: AsyncDatabase[Document], bus: MessageBus, views: IdentityViews) -> None:
        self._jobs = db[JOBS]
        self._bus = bus
        self._views = views
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, text: str, options: SyncOptions, requested_by: str) -> ImportJob:
        job = ImportJob(
            id=f"job_{secrets.token_urlsafe(9)}",
            status="running",
            options=options,
            requested_by=requested_by,
            created_at=datetime.now(UTC),
        )
        await self._jobs.insert_one(self._document(job))
        task = asyncio.create_task(self._run(job, text), name=f"import {job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    async def get(self, job_id: str) -> ImportJob | None:
        found = await self._jobs.find_one({"_id": job_id})
        if found is None:
            return None
        found["id"] = found.pop("_id")
        return ImportJob.model_validate(found)

    async def mark_interrupted(self) -> None:
        """At start: a job this service was running when it stopped will not finish."""
        await self._jobs.update_many(
            {"status": "running"},
            {
                "$set": {
                    "status": "interrupted",
                    "error": "the service restarted; run the "
                    "same file again to finish (applied rows come out unchanged)",
                }
            },
        )

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, job: ImportJob, text: str) -> None:
        try:
            await self._work(job, text)
        except asyncio.CancelledError:
            raise
        except DomainError as error:
            await self._finish(job, "refused", error=error.reason)
        except Exception as error:  # the job says so; the service goes on
            log.exception("import %s failed", job.id)
            await self._finish(job, "failed", error=f"{type(error).__name__}: {error}")

    async def _work(self, job: ImportJob, text: str) -> None:
        parsed = await asyncio.to_thread(csv_import.parse_participants, text)
        plan = await plan_sync(self._views, parsed, job.options.flag_missing)
        report = plan.report
        await self._progress(job, rows_total=report.rows_total, errors_so_far=report.refused)
        if job.options.dry_run:
            await self._finish(job, "done", report=report)
            return
        if report.refused and not job.options.accept_valid:
            await self._finish(
                job,
                "refused",
                report=report,
                error=f"{report.refused} of {report.rows_total} rows refused; nothing was "
                "imported (ask with accept_valid=true to import the valid rows)",
            )
            return
        creates = [row for _, row in plan.creates]
        updates = [
            commands.RosterUpdate(participant_id=pid, changes=changes)
            for _, pid, changes in plan.updates
        ]
        applied = 0
        while creates or updates:
            chunk_creates, creates = creates[:CHUNK_ROWS], creates[CHUNK_ROWS:]
            room = CHUNK_ROWS - len(chunk_creates)
            chunk_updates, updates = updates[:room], updates[room:]
            applied += await self._bus.handle(
                commands.ApplyRosterChunk(creates=chunk_creates, updates=chunk_updates)
            )
            await self._progress(job, rows_applied=applied)
        await self._finish(job, "done", report=report)

    async def _progress(self, job: ImportJob, **counts: int) -> None:
        await self._jobs.update_one({"_id": job.id}, {"$set": counts})

    async def _finish(
        self,
        job: ImportJob,
        status: Status,
        *,
        report: SyncReport | None = None,
        error: str | None = None,
    ) -> None:
        update: Document = {"status": status, "finished_at": datetime.now(UTC), "error": error}
        if report is not None:
            update["report"] = report.model_dump(mode="json")
        await self._jobs.update_one({"_id": job.id}, {"$set": update})

    @staticmethod
    def _document(job: ImportJob) -> Document:
        document = job.model_dump(mode="json")
        document["_id"] = document.pop("id")
        document["created_at"] = job.created_at
        return document
