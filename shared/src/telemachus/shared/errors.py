"""Errors the domain raises; entry points translate them (HTTP status, dead-letter reason).

Plain Python so that domain models depend on nothing but the standard library and pydantic.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import ValidationError

T = TypeVar("T")


def problems(error: ValidationError, *, whole: str) -> list[tuple[str, str]]:
    """(where, why) of each problem pydantic found, where a dotted path; `whole` names
    the place of a problem with the input as a whole."""
    return [
        (".".join(str(part) for part in item["loc"]) or whole, item["msg"])
        for item in error.errors()
    ]


class DomainError(Exception):
    """A request the domain refuses; retrying the same request will not help."""

    status = 422

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field

    def extensions(self) -> dict[str, Any]:
        """More than the reason and the field that a client can act on (an import's report)."""
        return {}


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class Rejected(DomainError):
    """Valid in form, refused by a rule (the rule is in `reason`, the input in `field`)."""

    status = 422


def found(value: T | None, what: str, *, field: str) -> T:
    """The value, or NotFound naming what is missing and the field that named it."""
    if value is None:
        raise NotFound(f"no {what}", field=field)
    return value


class Unauthenticated(DomainError):
    """No credentials, or credentials this service cannot verify (HTTP 401)."""

    status = 401


class Forbidden(DomainError):
    """The caller is known but may not do this (HTTP 403)."""

    status = 403
