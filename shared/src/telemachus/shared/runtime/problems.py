"""Every refusal of every API in one shape: RFC 9457 problem details (application/problem+json).

`detail` says what went wrong in words; `field` names the input at fault and `errors` lists
every (field, reason) found, so a client can show each next to its form field. The
standards that fix their own error body keep it (SCIM, RFC 7644; OAuth, RFC 6749).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry import trace
from pydantic import BaseModel, ConfigDict, Field

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:telemachus:problem:"

# status -> (the `type` after TYPE_PREFIX, its `title`): one type per status, since the
# status already says which rule applies; `detail` says which and why.
KINDS: dict[int, tuple[str, str]] = {
    400: ("bad-request", "The request is malformed"),
    401: ("unauthenticated", "Sign-in required"),
    403: ("forbidden", "Not allowed for this caller"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed here"),
    409: ("conflict", "In conflict with what is stored"),
    413: ("too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("invalid", "The request breaks a rule"),
    503: ("unavailable", "Not ready"),
}
LOCATIONS = ("body", "query", "path", "header", "cookie")


class FieldProblem(BaseModel):
    field: str = Field(description="the input at fault, as a dotted path (`answers.listens`)")
    reason: str
    where: str | None = Field(
        default=None, description="which part of the request holds it: body, query, path…"
    )


class Problem(BaseModel):
    """RFC 9457 problem details, with Telemachus's extension members."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description=f"{TYPE_PREFIX}<kind>; one kind per status")
    title: str
    status: int
    detail: str = Field(description="what went wrong, in words")
    instance: str | None = Field(
        default=None,
        description="this occurrence: urn:telemachus:trace:<trace id>, the trace an operator "
        "finds it in (not the request's path, which may carry what the caller may not see "
        "echoed)",
    )
    field: str | None = Field(default=None, description="the input at fault, if one is")
    errors: list[FieldProblem] = Field(default_factory=list)


def problem_type(status: int) -> str:
    return TYPE_PREFIX + KINDS.get(status, ("error", ""))[0]


def problem(
    status: int,
    detail: str,
    *,
    instance: str | None = None,
    errors: Sequence[FieldProblem] = (),
    field: str | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> Problem:
    first = field or (errors[0].field if errors else None)
    return Problem(
        type=problem_type(status),
        title=KINDS.get(status, ("", "Refused"))[1],
        status=status,
        detail=detail,
        instance=instance,
        field=first,
        errors=list(errors) or ([FieldProblem(field=first, reason=detail)] if first else []),
        **dict(extensions or {}),
    )


def problem_response(body: Problem, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True),
        status_code=body.status,
        media_type=PROBLEM_JSON,
        headers=dict(headers or {}),
    )


def field_problems(errors: Iterable[Mapping[str, Any]]) -> list[FieldProblem]:
    """FastAPI's validation errors (loc, msg) as field problems; `loc` opens with where."""
    found = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        where = loc.pop(0) if loc and loc[0] in LOCATIONS else None
        if error.get("type") == "json_invalid":  # loc is then a character position
            at = f" at character {loc[0]}" if loc else ""
            reason = f"not valid JSON{at}: {error.get('ctx', {}).get('error', error['msg'])}"
            found.append(FieldProblem(field="body", reason=reason, where=where))
            continue
        # pydantic opens a validator's own words with "Value error, ": the words are enough.
        reason = str(error["msg"]).removeprefix("Value error, ")
        found.append(
            FieldProblem(field=".".join(loc) or (where or "request"), reason=reason, where=where)
        )
    return found


def occurrence() -> str | None:
    """The trace this refusal happened in, if one is being recorded."""
    context = trace.get_current_span().get_span_context()
    return f"urn:telemachus:trace:{context.trace_id:032x}" if context.is_valid else None


def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
    errors = field_problems(error.errors())
    detail = "; ".join(f"{e.field}: {e.reason}" for e in errors[:3])
    if len(errors) > 3:
        detail += f"; and {len(errors) - 3} more"
    return problem_response(problem(422, detail, instance=occurrence(), errors=errors))
