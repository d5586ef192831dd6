"""The composition root of feedback."""

from __future__ import annotations

from fastapi import FastAPI
from pymongo import ASCENDING

from telemachus.feedback.domain import commands
from telemachus.feedback.entrypoints import http, kafka
from telemachus.feedback.service_layer.handlers import FeedbackHandlers
from telemachus.feedback.service_layer.publishing import PUBLISHED_EVENTS, to_wire
from telemachus.feedback.service_layer.unit_of_work import (
    CONCERNS,
    PAIRINGS,
    PARTICIPANTS,
    RELATIONSHIPS,
    RESPONSES,
    WINDOWS,
    FeedbackUnitOfWork,
)
from telemachus.feedback.service_layer.views import FeedbackViews
from telemachus.shared.runtime.auth import principal_dependency
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.service import ServiceRuntime
from telemachus.shared.runtime.settings import ServiceSettings
from telemachus.shared.runtime.telemetry import ServiceTelemetry
from telemachus.shared.security.registry import from_b64url

DESCRIPTION = (
    "Two-way feedback, outcome surveys and confidential concerns for the relationships of "
    "the programs this institution leads; the program evaluation report and a de-identified "
    "research export. An answer is read only by the person who gave it; coordinators see "
    "aggregates, with groups smaller than the program's threshold suppressed."
)


def bootstrap(settings: ServiceSettings, telemetry: ServiceTelemetry | None = None) -> FastAPI:
    runtime = ServiceRuntime(settings, telemetry)

    unit_of_work = runtime.unit_of_work_factory(FeedbackUnitOfWork, to_wire)
    pseudonym_key = runtime.keys.pseudonym_key if runtime.keys else None
    handlers = FeedbackHandlers(
        settings.institution, from_b64url(pseudonym_key) if pseudonym_key else None
    )
    bus = MessageBus(
        unit_of_work, handlers.handlers(), runtime.telemetry.tracer, prefetch=handlers.prefetches()
    )

    async def indexes() -> None:
        for collection in (PARTICIPANTS, PAIRINGS, RELATIONSHIPS, RESPONSES, CONCERNS, WINDOWS):
            await runtime.db[collection].create_index([("program_id", ASCENDING)])
        for field in ("mentor_ref", "mentee_ref"):
            await runtime.db[WINDOWS].create_index([(field, ASCENDING)])
        # The sweep's question: open (or due to open) and not yet closed.
        await runtime.db[WINDOWS].create_index([("closed", ASCENDING), ("opens_at", ASCENDING)])
        await runtime.db[RESPONSES].create_index([("respondent_ref", ASCENDING)])
        await runtime.db[RESPONSES].create_index([("window_id", ASCENDING)])
        await runtime.db[CONCERNS].create_index([("reporter_ref", ASCENDING)])
        # The sweep's other question: unanswered past the deadline.
        await runtime.db[CONCERNS].create_index(
            [("escalated_at", ASCENDING), ("respond_by", ASCENDING)]
        )

    async def sweep() -> None:
        await bus.handle(commands.Sweep())

    async def shield_earlier_concerns() -> None:
        await bus.handle(commands.ShieldEarlierConcerns())

    runtime.on_startup(indexes)
    runtime.on_startup(shield_earlier_concerns)
    runtime.periodic.every(
        settings.sweep_seconds, "open follow-ups, remind, close windows, escalate concerns", sweep
    )
    kafka.subscribe(runtime, bus)
    runtime.document_publications(PUBLISHED_EVENTS)
    router = http.feedback_router(
        bus,
        FeedbackViews(runtime.client, runtime.db),
        settings.institution,
        principal_dependency(runtime.token_verifier()),
    )
    return runtime.create_app("Telemachus feedback", DESCRIPTION, [router])
