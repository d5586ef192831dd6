"""The composition root of pairing."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from pymongo import ASCENDING

from telemachus.pairing.domain import commands
from telemachus.pairing.entrypoints import http, kafka
from telemachus.pairing.service_layer import engines
from telemachus.pairing.service_layer.handlers import PairingHandlers
from telemachus.pairing.service_layer.publishing import PUBLISHED_EVENTS, to_wire
from telemachus.pairing.service_layer.unit_of_work import (
    CANDIDATES,
    PAIRINGS,
    ROUNDS,
    PairingUnitOfWork,
)
from telemachus.pairing.service_layer.views import PairingViews
from telemachus.shared.runtime.auth import principal_dependency
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.service import ServiceRuntime
from telemachus.shared.runtime.settings import ServiceSettings
from telemachus.shared.runtime.telemetry import ServiceTelemetry

DESCRIPTION = (
    "Candidate pools, matching rounds (assigned, ranked, mixed) and explained proposals for "
    "the programs this institution leads. Pools are built only from identity events; people "
    "appear by pseudonymous reference. Coordinators of the lead run rounds; participants of "
    "every partner act with a token from their home issuer that carries their reference."
)


def bootstrap(settings: ServiceSettings, telemetry: ServiceTelemetry | None = None) -> FastAPI:
    runtime = ServiceRuntime(settings, telemetry)

    unit_of_work = runtime.unit_of_work_factory(PairingUnitOfWork, to_wire)

    bus = MessageBus(
        unit_of_work,
        PairingHandlers(settings.institution).handlers(),
        runtime.telemetry.tracer,
        # A round's announcement brings its people's answers at once: they share
        # transactions (group_commit.py), a refused one answered alone.
        grouped={commands.RespondToPairing},
        prefetch=PairingHandlers.prefetches(),
    )

    async def indexes() -> None:
        await runtime.db[CANDIDATES].create_index([("program_id", ASCENDING)])
        for field in ("program_id", "round_id", "mentor_ref", "mentee_ref", "status"):
            await runtime.db[PAIRINGS].create_index([(field, ASCENDING)])
        await runtime.db[ROUNDS].create_index([("program_id", ASCENDING)])

    loading: list[asyncio.Task[None]] = []

    async def warm_up() -> None:
        # Imports numba and loads the compiled kernels in a worker thread, after the start:
        # only a coordinator's round or a candidate list needs them, and those would load
        # them themselves.
        loading.append(asyncio.create_task(asyncio.to_thread(engines.warm_up)))

    async def expire_overdue() -> None:
        await bus.handle(commands.ExpireOverdue())

    runtime.on_startup(indexes)
    runtime.on_startup(warm_up)
    runtime.periodic.every(settings.sweep_seconds, "expire overdue proposals", expire_overdue)
    kafka.subscribe(runtime, bus)
    runtime.document_publications(PUBLISHED_EVENTS)
    router = http.pairing_router(
        bus,
        PairingViews(runtime.db),
        settings.institution,
        principal_dependency(runtime.token_verifier()),
    )
    return runtime.create_app("Telemachus pairing", DESCRIPTION, [router])
