"""The composition root of identity: the one place where its parts are wired together."""

from __future__ import annotations

from fastapi import FastAPI
from pymongo import ASCENDING

from telemachus.identity.entrypoints import http, kafka
from telemachus.identity.service_layer.handlers import IdentityHandlers
from telemachus.identity.service_layer.publishing import PUBLISHED_EVENTS, to_wire
from telemachus.identity.service_layer.unit_of_work import PARTICIPANTS, IdentityUnitOfWork
from telemachus.identity.service_layer.views import IdentityViews
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.service import ServiceRuntime
from telemachus.shared.runtime.settings import ServiceSettings
from telemachus.shared.runtime.telemetry import ServiceTelemetry

DESCRIPTION = (
    "The home of people and programs: institutions, programs, participants, enrolment with "
    "consent. Full personal data never leaves this service."
)


def bootstrap(settings: ServiceSettings, telemetry: ServiceTelemetry | None = None) -> FastAPI:
    runtime = ServiceRuntime(settings, telemetry)

    unit_of_work = runtime.unit_of_work_factory(IdentityUnitOfWork, to_wire)

    handlers = IdentityHandlers(settings.institution)
    bus = MessageBus(unit_of_work, handlers.handlers(), runtime.telemetry.tracer)

    async def indexes() -> None:
        await runtime.db[PARTICIPANTS].create_index([("enrolments.program_id", ASCENDING)])

    runtime.on_startup(indexes)
    kafka.subscribe(runtime, bus)
    runtime.document_publications(PUBLISHED_EVENTS)
    return runtime.create_app(
        "Telemachus identity", DESCRIPTION, [http.identity_router(bus, IdentityViews(runtime.db))]
    )
