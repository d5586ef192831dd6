"""The HTTP contracts integrators build on, checked from outside: every service's OpenAPI
document is valid (openapi-spec-validator), names each operation for what it does, lists every
refusal it can answer as RFC 9457 problem details, is the one published in docs/openapi/, and
its pages (Swagger UI, the AsyncAPI page) work with no internet access.

The running services are held to their documents by the HTTP fuzz test (test_http_fuzz.py).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from openapi_spec_validator import validate

from telemachus.cli.catalog import built_apps, openapi_documents
from telemachus.cli.portal_browser import chromium

PUBLISHED = Path(__file__).parent.parent / "docs" / "openapi"
METHODS = {"get", "post", "put", "patch", "delete"}
# The standards that fix their own error body (RFC 7644 SCIM, RFC 6749 OAuth).
OWN_ERROR_BODIES = {"application/scim+json"}


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    return openapi_documents()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_each_document_is_valid_openapi_and_the_published_one(
    documents: dict[str, dict[str, Any]],
) -> None:
    for service, document in documents.items():
        validate(document)  # an independent validator of OpenAPI 3.1
        published = json.loads((PUBLISHED / f"{service}.json").read_text())
        assert published == document, f"run `make schemas`: docs/openapi/{service}.json"


def test_operation_ids_are_stable_names_of_what_each_does(
    documents: dict[str, dict[str, Any]],
) -> None:
    for service, document in documents.items():
        ids = [op.get("operationId", "") for _, _, op in operations(document)]
        assert len(ids) == len(set(ids)), f"{service}: an operation id is used twice"
        for path, method, operation in operations(document):
            name = operation.get("operationId", "")
            where = f"{service} {method.upper()} {path}: {name!r}"
            assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", name), where
            # FastAPI's generated ids end in the method after the path (`..._programs_post`).
            assert not name.endswith(f"_{method}"), where
            assert operation.get("summary"), f"{where} has no summary"


def test_every_refusal_is_documented_as_problem_details(
    documents: dict[str, dict[str, Any]],
) -> None:
    for service, document in documents.items():
        schemas = document["components"]["schemas"]
        assert "HTTPValidationError" not in schemas
        assert {"type", "title", "status", "detail"} <= set(schemas["Problem"]["properties"])
        for path, method, operation in operations(document):
            where = f"{service} {method.upper()} {path}"
            responses = operation["responses"]
            takes_input = operation.get("parameters") or operation.get("requestBody")
            if takes_input:
                assert {"404", "422"} <= set(responses), where
            if operation.get("security"):
                assert {"401", "403", "404"} <= set(responses), where
            if method != "get":
                assert "409" in responses, where
            for status, response in responses.items():
                if not status.startswith("4"):
                    continue
                media = set(response.get("content", {}))
                # OAuth's 400 has its own body beside the problem (a body FastAPI cannot read).
                assert "application/problem+json" in media or media == OWN_ERROR_BODIES, (
                    where,
                    status,
                )


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """The app on a free port, without its lifespan: the documentation needs no store."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_the_api_and_event_pages_work_with_no_internet_access() -> None:
    with built_apps() as apps:
        async with serving(apps["feedback"]) as url, chromium() as browser:
            context = await browser.new_context()
            elsewhere: list[str] = []

            async def local_only(route: Any) -> None:
                if route.request.url.startswith(url):
                    await route.continue_()
                else:  # what an offline hospital network does to a CDN request
                    elsewhere.append(route.request.url)
                    await route.abort()

            await context.route("**/*", local_only)
            page = await context.new_page()
            await page.goto(f"{url}/docs")
            # Swagger UI drew the operations from /openapi.json: its script ran.
            await page.locator("#operations-feedback-give").wait_for(timeout=20_000)
            await page.goto(f"{url}/asyncapi")
            heading = page.locator('[id="org.telemachus.feedback.concern-reported.v1"]')
            await heading.wait_for(timeout=5_000)
            assert await page.locator("script").count() == 0
            await context.close()
    assert elsewhere == [], f"the pages asked for outside assets: {elsewhere}"
