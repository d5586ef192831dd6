"""HTTP pieces every service shares: health, readiness, error translation, tracing, limits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pymongo.errors import DuplicateKeyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from telemachus.shared.contracts.asyncapi import complete
from telemachus.shared.errors import DomainError
from telemachus.shared.runtime.asyncapi_page import render
from telemachus.shared.runtime.problems import (
    invalid_request,
    occurrence,
    problem,
    problem_response,
)
from telemachus.shared.runtime.prometheus import CONTENT_TYPE
from telemachus.shared.runtime.telemetry import ServiceTelemetry

# How long a server keeps an idle connection open: longer than its clients keep theirs
# (httpx 5 s, browsers and proxies up to 60 s). Closing first (uvicorn's default is 5 s,
# the same as httpx's) races a client sending on the connection just then: its request
# fails unanswered, and a POST is not tried again (seen in CI: an enrolment's ReadError).
KEEP_ALIVE_SECONDS = 75

ReadinessCheck = Callable[[], Awaitable[None]]


def health_router(
    checks: Mapping[str, ReadinessCheck], is_started: Callable[[], bool]
) -> APIRouter:
    router = APIRouter(prefix="/health", tags=["health"])

    @router.get("/live", summary="The process answers")
    async def liveness() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/ready",
        summary="The service can take traffic: store, broker, consumers",
        responses={503: {"description": "Not ready: `checks` says what is failing"}},
    )
    async def readiness() -> JSONResponse:
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
    async def prometheus_metrics() -> PlainTextResponse:
        return PlainTextResponse(render(), media_type=CONTENT_TYPE)

    return router


def asyncapi_router(broker: KafkaBroker, title: str, description: str, server: str) -> APIRouter:
    """The service's event documentation (AsyncAPI 3.0): what it publishes and consumes, each
    message complete (contracts/asyncapi.py); `server`: the broker it is configured with."""
    router = APIRouter(prefix="/asyncapi", tags=["events"])
    spec = AsyncAPI(
        broker, title=f"{title} events", description=description, schema_version="3.0.0"
    )

    def completed() -> dict[str, Any]:
        return complete(spec.to_specification().to_jsonable(), server=server)

    @router.get(
        ".json",
        summary="AsyncAPI 3.0 document of this service's topics and events",
        operation_id="asyncapi_document",
    )
    async def document() -> JSONResponse:
        return JSONResponse(completed())

    @router.get(
        "",
        response_class=HTMLResponse,
        summary="The same document as a page (no scripts: it reads offline)",
        operation_id="asyncapi_page",
    )
    async def page() -> HTMLResponse:
        return HTMLResponse(render(completed()))

    return router


def install_error_handlers(app: FastAPI) -> None:
    """Every refusal as RFC 9457 problem details (problems.py)."""

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        body = problem(
            error.status,
            error.reason,
            instance=occurrence(),
            field=error.field,
            extensions=error.extensions(),
        )
        return problem_response(body, headers)

    @app.exception_handler(DuplicateKeyError)
    async def duplicate(request: Request, error: DuplicateKeyError) -> JSONResponse:
        # A unique index caught what a check in the handler could not (a concurrent request).
        fields = sorted((error.details or {}).get("keyPattern", {}))
        body = problem(
            409, "already exists", instance=occurrence(), field=fields[0] if fields else None
        )
        return problem_response(body)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return invalid_request(request, error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        # No such route (404), a method the route does not have (405).
        body = problem(error.status_code, str(error.detail), instance=occurrence())
        return problem_response(body, error.headers)


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
                response = problem_response(problem(413, f"request body over {limit} bytes"))
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
