"""Each service's OpenAPI document: stable operation ids and every refusal it can answer.

FastAPI documents only 422, with its own error body. Here every operation lists the statuses
the shared rules can give it (problems.py, auth.py, http.py), each with the problem details
schema:
- 422 when it takes input (malformed, or refused by a domain rule);
- 401 and 403 when it asks for a bearer token;
- 404 when it takes input or a token (what either names may not exist);
- 409 when it writes (a conflict with what is stored);
- 400 and 413 when it takes a body (undecodable, too large).
The HTTP fuzz test checks, against the running services, that no answer falls outside.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from telemachus.shared.runtime.problems import KINDS, PROBLEM_JSON, Problem

WRITES = {"post", "put", "patch", "delete"}
# RFC 7644 fixes SCIM's own error body; its routes keep it.
SCIM_JSON = "application/scim+json"
SCIM_ERROR = {
    "type": "object",
    "description": "RFC 7644 section 3.12",
    "required": ["schemas", "status"],
    "properties": {
        "schemas": {"type": "array", "items": {"type": "string"}},
        "status": {"type": "string"},
        "scimType": {"type": "string"},
        "detail": {"type": "string"},
    },
}
# FastAPI's own error schemas, replaced by Problem.
_FASTAPI_ERRORS = ("HTTPValidationError", "ValidationError")


def operation_id(route: APIRoute) -> str:
    """The handler's name (`publish_program`): stable while the code keeps it."""
    return route.name


def refusals(method: str, operation: dict[str, Any]) -> set[int]:
    statuses: set[int] = set()
    takes_input = bool(operation.get("parameters") or operation.get("requestBody"))
    if takes_input or method in WRITES:
        statuses.add(422)
    if operation.get("security") or "scim" in operation.get("tags", ()):
        statuses |= {401, 403}
    if takes_input or operation.get("security"):
        statuses.add(404)  # what the request, or the caller's token, names may not exist
    if method in WRITES:
        statuses.add(409)
    if operation.get("requestBody"):
        statuses |= {400, 413}  # a body that cannot be decoded at all; one over the limit
    return statuses


def _error_body(operation: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if "scim" in operation.get("tags", ()):
        return SCIM_JSON, {"$ref": "#/components/schemas/ScimError"}
    return PROBLEM_JSON, {"$ref": "#/components/schemas/Problem"}


def document_refusals(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_ERRORS:
        components.pop(name, None)
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(problem.pop("$defs", {}))
    components["Problem"] = problem
    components["ScimError"] = SCIM_ERROR
    for item in schema.get("paths", {}).values():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            media, body = _error_body(operation)
            for status in sorted(refusals(method, operation)):
                documented = responses.setdefault(str(status), {"description": KINDS[status][1]})
                content = documented.setdefault("content", {})
                if "HTTPValidationError" in json.dumps(content):
                    content.clear()  # FastAPI's own 422 body, which no longer exists
                # A body the route declared itself (OAuth's 400) stays beside the problem.
                content.setdefault(media, {"schema": body})
    return schema


def unique_operation_ids(schema: dict[str, Any]) -> None:
    ids = Counter(
        operation.get("operationId")
        for item in schema.get("paths", {}).values()
        for operation in item.values()
    )
    twice = sorted(str(name) for name, n in ids.items() if n > 1)
    if twice:
        raise ValueError(f"operation ids used twice (rename the handlers): {', '.join(twice)}")


def documented(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """A replacement for `app.openapi` that adds what the module docstring says."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            unique_operation_ids(schema)
            app.openapi_schema = document_refusals(schema)
        return app.openapi_schema

    return openapi
