"""Webhook subscriptions: an integrator without a Kafka client (an HR system, a learning-
management system) names an HTTPS endpoint and the events it wants; this institution's
events of those types are POSTed to it, one at a time per aggregate, in order.

Only this institution's own events (its four topics) go out, as they are on the log: the
payloads name people only by pseudonymous reference, like everything an integrator's
read-only Kafka principal reads.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Collection
from datetime import datetime
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from telemachus.shared.errors import Rejected

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


class WebhookSubscription(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    url: str
    event_types: tuple[str, ...]
    description: str = ""
    created_at: datetime
    created_by: str
    active: bool = True


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        raise Rejected(f"{host} does not resolve", field="url") from None
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def check_endpoint(url: str, *, loopback_http: bool = False) -> str:
    """HTTPS to a public address: an endpoint inside our network (the store, the broker,
    a cloud metadata service) would let whoever registers it read or poke at what only the
    services may reach. `loopback_http`: development only, plain HTTP to this machine."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        raise Rejected("needs a host: https://host/path", field="url")
    if parts.username or parts.password:
        raise Rejected("must not carry credentials; say who you are in your receiver", field="url")
    if loopback_http and parts.scheme in ("http", "https") and host in LOOPBACK_NAMES:
        return url
    if parts.scheme != "https":
        raise Rejected("must be https://", field="url")
    for address in _addresses(host):
        if not address.is_global:
            raise Rejected(
                f"{host} is a private or reserved address ({address}); name a public one",
                field="url",
            )
    return url


def check_event_types(wanted: Collection[str], known: Collection[str]) -> tuple[str, ...]:
    if not wanted:
        raise Rejected("name at least one event type", field="event_types")
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise Rejected(
            f"not an event this institution publishes: {', '.join(unknown)}", field="event_types"
        )
    return tuple(sorted(set(wanted)))


class NewSubscription(BaseModel):
    url: str = Field(max_length=2000, description="https://… that accepts POSTed CloudEvents")
    event_types: list[str] = Field(
        max_length=100, description="e.g. org.telemachus.sessions.session-held.v1"
    )
    description: str = Field(default="", max_length=500)
