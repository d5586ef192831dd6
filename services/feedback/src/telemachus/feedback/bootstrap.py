"""The composition root of feedback."""

from __future__ import annotations

from fastapi import FastAPI

from telemachus.feedback.entrypoints import http, kafka
from telemachus.feedback.service_layer.handlers import FeedbackHandlers
from telemachus.feedback.service_layer.publishing import PUBLISHED_EVENTS, to_wire
from telemachus.feedback.service_layer.unit_of_work import FeedbackUnitOfWork
from telemachus.feedback.service_layer.views import FeedbackViews
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.service import ServiceRuntime
from telemachus.shared.runtime.settings import ServiceSettings
from telemachus.shared.runtime.telemetry import ServiceTelemetry

DESCRIPTION = (
    "Two-way feedback, outcome surveys and concerns for the relationships this institution "
    "owns. Individual answers stay confidential."
)


def bootstrap(settings: ServiceSettings, telemetry: ServiceTelemetry | None = None) -> FastAPI:
    runtime = ServiceRuntime(settings, telemetry)

    unit_of_work = runtime.unit_of_work_factory(FeedbackUnitOfWork, to_wire)

    bus = MessageBus(unit_of_work, FeedbackHandlers().handlers(), runtime.telemetry.tracer)
    kafka.subscribe(runtime, bus)
    runtime.document_publications(PUBLISHED_EVENTS)
    return runtime.create_app(
        "Telemachus feedback", DESCRIPTION, [http.feedback_router(FeedbackViews(runtime.db))]
    )
