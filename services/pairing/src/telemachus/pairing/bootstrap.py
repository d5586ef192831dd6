"""The composition root of pairing."""

from __future__ import annotations

from fastapi import FastAPI
from pymongo import ASCENDING

from telemachus.pairing.entrypoints import http, kafka
from telemachus.pairing.service_layer.handlers import PairingHandlers
from telemachus.pairing.service_layer.publishing import PUBLISHED_EVENTS, to_wire
from telemachus.pairing.service_layer.unit_of_work import (
    CANDIDATES,
    PAIRINGS,
    PairingUnitOfWork,
)
from telemachus.pairing.service_layer.views import PairingViews
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.service import ServiceRuntime
from telemachus.shared.runtime.settings import ServiceSettings
from telemachus.shared.runtime.telemetry import ServiceTelemetry

DESCRIPTION = (
    "Candidate pools, matching rounds and proposals for the programs this institution leads. "
    "Pools are built only from identity events; people appear by pseudonymous reference."
)


def bootstrap(settings: ServiceSettings, telemetry: ServiceTelemetry | None = None) -> FastAPI:
    runtime = ServiceRuntime(settings, telemetry)

    unit_of_work = runtime.unit_of_work_factory(PairingUnitOfWork, to_wire)

    bus = MessageBus(
        unit_of_work, PairingHandlers(settings.institution).handlers(), runtime.telemetry.tracer
    )

    async def indexes() -> None:
        await runtime.db[CANDIDATES].create_index([("program_id", ASCENDING)])
        await runtime.db[PAIRINGS].create_index([("program_id", ASCENDING)])
        await runtime.db[PAIRINGS].create_index([("round_id", ASCENDING)])

    runtime.on_startup(indexes)
    kafka.subscribe(runtime, bus)
    runtime.document_publications(PUBLISHED_EVENTS)
    return runtime.create_app(
        "Telemachus pairing", DESCRIPTION, [http.pairing_router(bus, PairingViews(runtime.db))]
    )
