"""The services' public HTTP APIs, called with the signed-in person's token. The portal
reads and changes nothing any other way."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from telemachus.shared.contracts.topics import ServiceName
from telemachus.shared.runtime.paging import MAX_LIMIT


class ServiceRefused(Exception):
    """A service said no (4xx), or could not be reached (status 503)."""

    def __init__(self, status: int, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.field = field


@dataclass(frozen=True)
class Download:
    content: bytes
    media_type: str
    filename: str | None


def _refusal(response: httpx.Response) -> ServiceRefused:
    """The reason as the service gave it: RFC 9457 problem details (`detail`, `field`), or
    the shapes of services from before them, which partners may still run:
    {"detail": {"reason", "field"}} and FastAPI's list of problems."""
    try:
        body = response.json()
    except ValueError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, str) and "status" in body:
        # The first problem's own words (the detail strings several together).
        first = (body.get("errors") or [{}])[0]
        reason = first.get("reason") if first.get("field") == body.get("field") else None
        return ServiceRefused(response.status_code, reason or detail, body.get("field"))
    if isinstance(detail, dict):
        return ServiceRefused(response.status_code, str(detail.get("reason")), detail.get("field"))
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        first = detail[0]
        location = [str(p) for p in first.get("loc", []) if p != "body"]
        return ServiceRefused(
            response.status_code, str(first.get("msg")), ".".join(location) or None
        )
    return ServiceRefused(response.status_code, f"answered {response.status_code}")


class Services:
    def __init__(self, directory: Mapping[tuple[str, str], str], http: httpx.AsyncClient) -> None:
        self._directory = directory
        self._http = http

    def knows(self, institution: str, service: ServiceName) -> bool:
        return (institution, service) in self._directory

    def url(self, institution: str, service: ServiceName) -> str:
        found = self._directory.get((institution, service))
        if found is None:
            raise ServiceRefused(503, f"the portal does not know {institution}'s {service}")
        return found

    async def respond(
        self,
        method: str,
        institution: str,
        service: ServiceName,
        path: str,
        token: str,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """The whole response (a page may need its headers, e.g. a count); a refusal or an
        unreachable service raises ServiceRefused."""
        try:
            response = await self._http.request(
                method,
                f"{self.url(institution, service)}{path}",
                headers={**(headers or {}), "Authorization": f"Bearer {token}"},
                **kwargs,
            )
        except httpx.HTTPError:
            raise ServiceRefused(503, f"{institution}'s {service} cannot be reached") from None
        if response.status_code >= 400:
            raise _refusal(response)
        return response

    async def read(
        self,
        institution: str,
        service: ServiceName,
        path: str,
        token: str,
        **params: Any,
    ) -> Any:
        response = await self.respond(
            "GET", institution, service, path, token, params=params or None
        )
        return response.json()

    async def read_all(
        self, institution: str, service: ServiceName, path: str, token: str, **params: Any
    ) -> list[Any]:
        """Every page of a paged list, following its `Link: rel="next"` (RFC 8288)."""
        response = await self.respond(
            "GET", institution, service, path, token, params={**params, "limit": MAX_LIMIT}
        )
        found: list[Any] = list(response.json())
        while (following := response.links.get("next", {}).get("url")) is not None:
            # Only ever the same service: a Link elsewhere is not followed with a token.
            if not following.startswith(self.url(institution, service)):
                break
            response = await self.respond(
                "GET",
                institution,
                service,
                following.removeprefix(self.url(institution, service)),
                token,
            )
            found.extend(response.json())
        return found

    async def count(
        self, institution: str, service: ServiceName, path: str, token: str, **params: Any
    ) -> int:
        """How many items a paged list holds (its X-Total-Count), reading one of them."""
        response = await self.respond(
            "GET", institution, service, path, token, params={**params, "limit": 1}
        )
        return int(response.headers.get("X-Total-Count", len(response.json())))

    async def send(
        self,
        method: str,
        institution: str,
        service: ServiceName,
        path: str,
        token: str,
        **kwargs: Any,
    ) -> Any:
        response = await self.respond(method, institution, service, path, token, **kwargs)
        return response.json() if response.content else None

    async def download(
        self, institution: str, service: ServiceName, path: str, token: str, **params: Any
    ) -> Download:
        response = await self.respond(
            "GET", institution, service, path, token, params=params or None
        )
        disposition = response.headers.get("Content-Disposition", "")
        filename = disposition.partition("filename=")[2].strip('"') or None
        return Download(
            response.content,
            response.headers.get("Content-Type", "application/octet-stream"),
            filename,
        )
