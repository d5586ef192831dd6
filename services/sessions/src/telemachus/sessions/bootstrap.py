"""The composition root of sessions."""

from __future__ import annotations

from fastapi import FastAPI
from pymongo import ASCENDING

from telemachus.sessions.domain import commands
from telemachus.sessions.entrypoints import http, kafka, preparation_http
from telemachus.sessions.service_layer.handlers import SessionsHandlers
from telemachus.sessions.service_layer.publishing import PUBLISHED_EVENTS, to_wire
from telemachus.sessions.service_layer.unit_of_work import (
    EXITS,
    FEEDS,
    NOTES,
    PREPARATION,
    RELATIONSHIPS,
    SessionsUnitOfWork,
)
from telemachus.sessions.service_layer.views import SessionsViews
from telemachus.shared.runtime.auth import principal_dependency
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.service import ServiceRuntime
from telemachus.shared.runtime.settings import ServiceSettings
from telemachus.shared.runtime.telemetry import ServiceTelemetry

DESCRIPTION = (
    "Mentoring relationships of the programs this institution leads: learning agreements, "
    "sessions inside both people's availability, attendance with private notes, progress, "
    "no-fault exits and per-participant calendar feeds. Participants of every partner act "
    "with a token from their home issuer that carries their reference."
)


def bootstrap(settings: ServiceSettings, telemetry: ServiceTelemetry | None = None) -> FastAPI:
    runtime = ServiceRuntime(settings, telemetry)

    unit_of_work = runtime.unit_of_work_factory(SessionsUnitOfWork, to_wire)
    bus = MessageBus(
        unit_of_work,
        SessionsHandlers(settings.institution).handlers(),
        runtime.telemetry.tracer,
        prefetch=SessionsHandlers.prefetches(),
    )

    async def indexes() -> None:
        for field in ("program_id", "mentor_ref", "mentee_ref", "status"):
            await runtime.db[RELATIONSHIPS].create_index([(field, ASCENDING)])
        await runtime.db[NOTES].create_index([("author_ref", ASCENDING)])
        await runtime.db[EXITS].create_index([("program_id", ASCENDING)])
        await runtime.db[FEEDS].create_index([("participant_ref", ASCENDING)])
        await runtime.db[PREPARATION].create_index([("program_id", ASCENDING)])

    async def review() -> None:
        await bus.handle(commands.ReviewRelationships())

    runtime.on_startup(indexes)
    runtime.periodic.every(settings.sweep_seconds, "complete and flag relationships", review)
    kafka.subscribe(runtime, bus)
    runtime.document_publications(PUBLISHED_EVENTS)
    views = SessionsViews(runtime.db)
    authenticate = principal_dependency(runtime.token_verifier())
    router = http.sessions_router(bus, views, settings.institution, authenticate)
    preparation = preparation_http.preparation_router(
        bus, views, settings.institution, authenticate
    )
    return runtime.create_app("Telemachus sessions", DESCRIPTION, [router, preparation])
