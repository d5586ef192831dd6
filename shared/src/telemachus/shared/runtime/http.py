"""HTTP pieces every service shares: health, readiness, error translation, tracing, limits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from faststream.specification.asyncapi.site import get_asyncapi_html
from pymongo.errors import DuplicateKeyError
from starlette.types import ASGIApp, Receive, Scope, Send

from telemachus.shared.errors import DomainError
from telemachus.shared.runtime.prometheus import CONTENT_TYPE
from telemachus.shared.runtime.telemetry import ServiceTelemetry

ReadinessCheck = Callable[[], Awaitable[None]]


def health_router(
    checks: Mapping[str, ReadinessCheck], is_started: Callable[[], bool]
) -> APIRouter:
    router = APIRouter(prefix="/health", tags=["health"])

    @router.get("/live", summary="The process answers")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/ready", summary="The service can take traffic: store, broker, consumers")
    async def ready() -> JSONResponse:
        results: dict[str, str] = {"started": "ok" if is_started() else "starting"}
        for name, check in checks.items():
            try:
                await check()
                results[name] = "ok"
            except Exception as error:
                results[name] = f"failing: {type(error).__name__}"
        ok = all(value == "ok" for value in results.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": results},
            status_code=200 if ok else 503,
        )

    return router


def metrics_router(render: Callable[[], str]) -> APIRouter:
    """Prometheus scrapes `GET /metrics` (see prometheus.py)."""
    router = APIRouter(tags=["health"])

    @router.get("/metrics", response_class=PlainTextResponse, summary="Metrics for Prometheus")
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(render(), media_type=CONTENT_TYPE)

    return router


def asyncapi_router(broker: KafkaBroker, title: str, description: str) -> APIRouter:
    """The service's event documentation (AsyncAPI 3.0): what it publishes and consumes."""
    router = APIRouter(prefix="/asyncapi", tags=["events"])
    spec = AsyncAPI(
        broker, title=f"{title} events", description=description, schema_version="3.0.0"
    )

    @router.get(".json", summary="AsyncAPI 3.0 document of this service's topics and events")
    async def document() -> JSONResponse:
        return JSONResponse(spec.to_specification().to_jsonable())

    @router.get("", response_class=HTMLResponse, summary="The same document, rendered")
    async def page() -> HTMLResponse:
        return HTMLResponse(get_asyncapi_html(spec.to_specification(), try_it_out_path=None))

    return router


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return JSONResponse({"detail": error.detail()}, status_code=error.status, headers=headers)

    @app.exception_handler(DuplicateKeyError)
    async def duplicate(request: Request, error: DuplicateKeyError) -> JSONResponse:
        # A unique index caught what a check in the handler could not (a concurrent request).
        fields = sorted((error.details or {}).get("keyPattern", {}))
        detail = {"reason": "already exists"}
        if fields:
            detail["field"] = fields[0]
        return JSONResponse({"detail": detail}, status_code=409)


class BodySizeLimit:
    """Refuse oversized request bodies with 413 before they are read.

    `larger` raises the limit for paths ending in the given suffix (bulk imports).
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, larger: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = dict(larger or {})

    def _limit(self, path: str) -> int:
        return next((n for s, n in self.larger.items() if path.endswith(s)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = dict(scope.get("headers") or []).get(b"content-length")
            limit = self._limit(scope.get("path", ""))
            if length is not None and length.isdigit() and int(length) > limit:
                response = JSONResponse(
                    {"detail": {"reason": f"request body over {limit} bytes"}},
                    status_code=413,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BindTelemetry:
    """Route process-wide spans (MongoDB) of this request to this service's provider."""

    def __init__(self, app: ASGIApp, telemetry: ServiceTelemetry) -> None:
        self.app = app
        self.telemetry = telemetry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with self.telemetry.active():
            await self.app(scope, receive, send)
