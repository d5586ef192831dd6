"""The composition root of the portal: the one place where its parts are wired together."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

from telemachus.portal.adapters.identity_provider import IdentityProvider
from telemachus.portal.adapters.services import Services
from telemachus.portal.adapters.store import PortalStore
from telemachus.portal.entrypoints.coordinator import coordinator_router
from telemachus.portal.entrypoints.errors import install_error_pages
from telemachus.portal.entrypoints.participant import participant_router
from telemachus.portal.entrypoints.preparation import preparation_router
from telemachus.portal.entrypoints.preparation_setup import preparation_setup_router
from telemachus.portal.entrypoints.recognition import recognition_router
from telemachus.portal.entrypoints.safeguarding import safeguarding_router
from telemachus.portal.entrypoints.security_headers import SecurityHeaders
from telemachus.portal.entrypoints.sign_in import sign_in_router
from telemachus.portal.entrypoints.web import Web
from telemachus.portal.service_layer.concerns import Concerns
from telemachus.portal.service_layer.coordination import Coordination
from telemachus.portal.service_layer.participation import Participation
from telemachus.portal.service_layer.recognition import Recognition
from telemachus.portal.service_layer.tokens import Tokens
from telemachus.portal.settings import PortalSettings
from telemachus.portal.translations import portal_catalogs
from telemachus.shared.runtime.http import health_router
from telemachus.shared.runtime.store import create_mongo_client, ping
from telemachus.shared.runtime.telemetry import ServiceTelemetry
from telemachus.shared.security.oidc import ClaimMapping
from telemachus.shared.security.registry import TrustRegistry
from telemachus.shared.security.tokens import audience_of

STATIC = Path(__file__).parent / "static"


def bootstrap(
    settings: PortalSettings,
    telemetry: ServiceTelemetry | None = None,
    directory: Mapping[tuple[str, str], str] | None = None,
) -> FastAPI:
    """`directory`: where the services are, when known only once they listen (a local
    federation on free ports); else `settings.portal_services`."""
    if settings.trust_registry_file is None:
        raise RuntimeError(
            "the portal needs TELEMACHUS_TRUST_REGISTRY_FILE (its IdP is named there)"
        )
    trust = TrustRegistry.load(settings.trust_registry_file)
    record = trust.get(settings.institution)
    if record is None or record.oidc_issuer is None:
        raise RuntimeError(f"{settings.institution} names no oidc_issuer in the trust registry")
    telemetry = telemetry or ServiceTelemetry.create(settings)
    client = create_mongo_client(
        settings.mongodb_uri, app_name=f"telemachus-{settings.institution}-portal"
    )
    store = PortalStore(client, settings.database_name)
    http = httpx.AsyncClient(timeout=settings.service_timeout_seconds, follow_redirects=False)
    # The services continue the portal's trace: every call carries its traceparent.
    HTTPXClientInstrumentor.instrument_client(http, tracer_provider=telemetry.provider)
    services = Services(settings.portal_services if directory is None else directory, http)
    tokens = Tokens(settings.institution, services, store, http)
    mapping = ClaimMapping(
        audience=audience_of(settings.institution),
        subject_claim=settings.oidc_subject_claim,
        roles_claim=settings.oidc_roles_claim,
        role_map=ClaimMapping.parse_role_map(settings.oidc_role_map),
    )
    idp = IdentityProvider(
        settings.institution,
        record.oidc_issuer,
        settings.oidc_client_id,
        settings.redirect_uri,
        mapping,
        http,
    )
    web = Web(
        store,
        portal_catalogs(),
        "__Host-telemachus" if settings.secure_cookies else "telemachus-session",
        settings.secure_cookies,
        record.name,
    )
    participation = Participation(settings.institution, services, tokens)
    recognition = Recognition(settings.institution, services, tokens)
    coordination = Coordination(settings.institution, services, tokens)
    concerns = Concerns(settings.institution, services, tokens)
    started = False

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal started
        await store.prepare()
        started = True
        try:
            yield
        finally:
            started = False
            await http.aclose()
            await client.close()
            telemetry.shutdown()

    app = FastAPI(
        title=f"Telemachus portal ({settings.institution})",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.include_router(health_router({"mongodb": lambda: ping(client)}, lambda: started))
    app.include_router(sign_in_router(web, idp, settings.session_max_seconds))
    app.include_router(participant_router(web, participation))
    app.include_router(coordinator_router(web, coordination, participation, concerns))
    app.include_router(safeguarding_router(web, concerns, participation))
    app.include_router(preparation_router(web, participation))
    app.include_router(preparation_setup_router(web, coordination, participation))
    app.include_router(recognition_router(web, recognition, settings.certificate_font))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_error_pages(app, web)
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=telemetry.provider, excluded_urls="health/.*,static/.*"
    )
    app.add_middleware(SecurityHeaders, hsts=settings.secure_cookies)
    app.state.store = store
    return app
