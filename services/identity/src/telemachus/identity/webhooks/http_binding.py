"""A webhook delivery as an HTTP request: the CloudEvents HTTP protocol binding in binary
mode, from the Kafka record as it was on the log.

The Kafka binding's `ce_<attribute>` headers become `ce-<attribute>`, the body is the event's
data byte for byte, and `content-type` stays. The signature travels as it was signed,
`ce-dssematerial` (the CloudEvents verifiability extension, DSSE over the attributes and
the data with the institution's Ed25519 key), so a receiver verifies a webhook exactly as a
Kafka reader does, against the same trust registry, and a relay or queue in between cannot
alter it unseen. Not HTTP Message Signatures (RFC 9421): they would sign each request with
a key of ours, not the event with the institution's, and need a second set of keys.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from telemachus.identity.webhooks.subscriptions import check_endpoint
from telemachus.shared.contracts.envelope import CONTENT_TYPE_HEADER, HEADER_PREFIX
from telemachus.shared.errors import Rejected
from telemachus.shared.runtime.store import Document

PASSED_ON = ("traceparent", "tracestate")


def request_headers(row: Document) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in row["headers"].items():
        if name.startswith(HEADER_PREFIX):
            headers["ce-" + name.removeprefix(HEADER_PREFIX)] = value
        elif name in (CONTENT_TYPE_HEADER, *PASSED_ON):
            headers[name] = value
    headers["telemachus-delivery"] = row["_id"]  # the same on every try: deduplicate on it
    return headers


@dataclass(frozen=True)
class Sent:
    delivered: bool
    reason: str = ""


class HttpSender:
    """POSTs each delivery; any 2xx is delivered, anything else is tried again later.
    Redirects are not followed, and the endpoint is checked again before each try: a name
    that now resolves inside the network is refused (subscriptions.check_endpoint)."""

    def __init__(self, client: httpx.AsyncClient, *, loopback_http: bool = False) -> None:
        self._client = client
        self._loopback_http = loopback_http

    async def send(self, url: str, row: Document) -> Sent:
        try:
            await asyncio.to_thread(check_endpoint, url, loopback_http=self._loopback_http)
        except Rejected as refused:
            return Sent(False, f"endpoint refused: {refused.reason}")
        try:
            response = await self._client.post(
                url, content=bytes(row["data"]), headers=request_headers(row)
            )
        except httpx.HTTPError as error:
            return Sent(False, f"{type(error).__name__}: {error}"[:300])
        if response.is_success:
            return Sent(True)
        return Sent(False, f"answered {response.status_code}")
