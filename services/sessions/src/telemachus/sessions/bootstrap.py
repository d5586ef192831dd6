"""The composition root of sessions."""

from __future__ import annotations

from fastapi import FastAPI

from telemachus.sessions.entrypoints import http, kafka
from telemachus.sessions.service_layer.handlers import HANDLERS
from telemachus.sessions.service_layer.publishing import PUBLISHED_EVENTS, to_wire
from telemachus.sessions.service_layer.unit_of_work import SessionsUnitOfWork
from telemachus.sessions.service_layer.views import SessionsViews
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.service import ServiceRuntime
from telemachus.shared.runtime.settings import ServiceSettings
from telemachus.shared.runtime.telemetry import ServiceTelemetry

DESCRIPTION = (
    "Mentoring relationships of the programs this institution leads: who mentors whom, on "
    "what, for how long; sessions and exits follow."
)


def bootstrap(settings: ServiceSettings, telemetry: ServiceTelemetry | None = None) -> FastAPI:
    runtime = ServiceRuntime(settings, telemetry)

    unit_of_work = runtime.unit_of_work_factory(SessionsUnitOfWork, to_wire)

    bus = MessageBus(unit_of_work, HANDLERS, runtime.telemetry.tracer)
    kafka.subscribe(runtime, bus)
    runtime.document_publications(PUBLISHED_EVENTS)
    return runtime.create_app(
        "Telemachus sessions", DESCRIPTION, [http.sessions_router(SessionsViews(runtime.db))]
    )
