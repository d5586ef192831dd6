"""Completes the AsyncAPI 3 document FastStream generates, so an integrator reading it needs
nothing else.

FastStream knows the channels and what each service publishes, but our consumers take raw
records (they verify the signature before they parse), so what they receive shows as an
empty payload, and no message says its headers, key or meaning. Here every channel on an
event topic carries one message per event published there, and each message has its
payload schema, the CloudEvents headers with the signature and trace context, its Kafka key,
a description and a valid example. The same event is the same component in every service's
document, so the merged catalog holds it once.
"""

from __future__ import annotations

import copy
import inspect
import json
from collections.abc import Iterable
from typing import Any

from telemachus.shared.contracts.base import IntegrationEvent, event_json_schema, registered_events
from telemachus.shared.contracts.envelope import CONTENT_TYPE_HEADER, HEADER_PREFIX, SPEC_VERSION
from telemachus.shared.contracts.examples import LEAD, WHEN, event_example
from telemachus.shared.contracts.topics import SERVICES, event_source, publisher_of

MATERIAL = f"{HEADER_PREFIX}dssematerial"
TRACEPARENT = "traceparent"
_COMPONENT_REF = "#/components/schemas/"


def service_of(event: type[IntegrationEvent]) -> str:
    """`org.telemachus.<service>.<name>.vN` -> <service>."""
    return event.event_type.split(".")[2]


def published_on(service: str) -> list[type[IntegrationEvent]]:
    """What a reader of the service's topic can find there today (retired versions excluded:
    their schemas stay in docs/events for records still on topics)."""
    return [e for e in registered_events().values() if service_of(e) == service and not e.retired]


def _describe(event: type[IntegrationEvent]) -> str:
    return inspect.cleandoc(event.__doc__ or event.__name__)


def headers_schema(event: type[IntegrationEvent]) -> dict[str, Any]:
    """The record's headers: CloudEvents 1.0 Kafka binding (binary mode), signature, trace."""
    ce = HEADER_PREFIX
    return {
        "type": "object",
        "required": [
            f"{ce}specversion",
            f"{ce}id",
            f"{ce}source",
            f"{ce}type",
            f"{ce}time",
            CONTENT_TYPE_HEADER,
            MATERIAL,
        ],
        "properties": {
            f"{ce}specversion": {"type": "string", "const": SPEC_VERSION},
            f"{ce}id": {
                "type": "string",
                "minLength": 1,
                "maxLength": 200,
                "description": "unique per event; a redelivery keeps it (deduplicate on it)",
            },
            f"{ce}source": {
                "type": "string",
                "pattern": f"^/telemachus/[a-z][a-z0-9-]{{1,40}}/{service_of(event)}$",
                "description": "/telemachus/<institution>/<service>; must match the topic's "
                "institution and the signature's key",
            },
            f"{ce}type": {"type": "string", "const": event.event_type},
            f"{ce}time": {"type": "string", "format": "date-time"},
            f"{ce}subject": {
                "type": "string",
                "maxLength": 200,
                "description": "the Kafka key: an opaque aggregate id",
            },
            CONTENT_TYPE_HEADER: {"type": "string", "const": "application/json"},
            MATERIAL: {
                "type": "string",
                "contentEncoding": "base64",
                "description": "DSSE envelope (CloudEvents verifiability extension) signing "
                "the attributes, the key and the data with the institution's Ed25519 key; "
                "verify it against the federation's trust registry before reading the data",
            },
            TRACEPARENT: {
                "type": "string",
                "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
                "description": "W3C trace context of the work that caused the event",
            },
            "tracestate": {"type": "string"},
        },
    }


def example(event: type[IntegrationEvent]) -> dict[str, Any]:
    payload = event_example(event)
    key = str(payload[event.key_field])
    return {
        "name": event.__name__,
        "summary": f"{event.__name__} of {LEAD}",
        "headers": {
            f"{HEADER_PREFIX}specversion": SPEC_VERSION,
            f"{HEADER_PREFIX}id": "0b8f2c9e-4c1d-4f6e-9a51-2d7c3e8b1f40",
            f"{HEADER_PREFIX}source": event_source(LEAD, service_of(event)),  # type: ignore[arg-type]
            f"{HEADER_PREFIX}type": event.event_type,
            f"{HEADER_PREFIX}time": WHEN.isoformat(),
            f"{HEADER_PREFIX}subject": key,
            CONTENT_TYPE_HEADER: "application/json",
            MATERIAL: "eyJwYXlsb2FkVHlwZSI6ImFwcGxpY2F0aW9uL2Nsb3VkZXZlbnRzK2pzb24ifQ==",
            TRACEPARENT: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        },
        "payload": payload,
    }


def message(event: type[IntegrationEvent]) -> dict[str, Any]:
    description = _describe(event)
    return {
        "name": event.event_type,
        "title": event.__name__,
        "summary": description.split("\n", 1)[0],
        "description": description,
        "contentType": "application/json",
        "headers": headers_schema(event),
        "payload": {"$ref": f"{_COMPONENT_REF}{event.__name__}"},
        "correlationId": {"location": f"$message.header#/{HEADER_PREFIX}id"},
        "bindings": {
            "kafka": {
                "bindingVersion": "0.4.0",
                "key": {
                    "type": "string",
                    "description": f"the event's `{event.key_field}`: all events of one "
                    "aggregate share a partition, so they arrive in order",
                },
            }
        },
        "examples": [example(event)],
    }


def _schemas(events: Iterable[type[IntegrationEvent]]) -> dict[str, Any]:
    """Each event's schema (as in docs/events) with its nested models beside it."""
    found: dict[str, Any] = {}
    for event in events:
        text = json.dumps(event_json_schema(event)).replace('"#/$defs/', f'"{_COMPONENT_REF}')
        schema = json.loads(text)
        found.update(schema.pop("$defs", {}))
        found[event.__name__] = schema
    return found


def _events_of(
    channel: dict[str, Any], by_class: dict[str, type[IntegrationEvent]], components: dict[str, Any]
) -> list[type[IntegrationEvent]]:
    """What the channel carries: the one event a publisher channel names, else everything
    published on the topic it reads."""
    named = []
    for ref in channel.get("messages", {}).values():
        payload = components["messages"].get(ref["$ref"].rsplit("/", 1)[-1], {}).get("payload", {})
        name = payload.get("$ref", "").removeprefix(_COMPONENT_REF)
        if name in by_class:
            named.append(by_class[name])
    if named:
        return named
    _, source = publisher_of(channel.get("address", ""))
    service = source.rsplit("/", 1)[-1]
    return published_on(service) if service in SERVICES else []


def complete(document: dict[str, Any], *, server: str | None = None) -> dict[str, Any]:
    """The document with every message complete (see the module's docstring); `server`
    replaces the broker address FastStream wrote."""
    document = copy.deepcopy(document)
    components = document.setdefault("components", {})
    components.setdefault("messages", {})
    by_class = {e.__name__: e for e in registered_events().values()}
    used: dict[str, type[IntegrationEvent]] = {}
    for name, channel in document.get("channels", {}).items():
        events = _events_of(channel, by_class, components)
        if not events:
            continue
        channel["messages"] = {
            e.event_type: {"$ref": f"#/components/messages/{e.event_type}"} for e in events
        }
        for operation in document.get("operations", {}).values():
            if operation.get("channel", {}).get("$ref") == f"#/channels/{name}":
                operation["messages"] = [
                    {"$ref": f"#/channels/{name}/messages/{e.event_type}"} for e in events
                ]
        used.update({e.event_type: e for e in events})
    components["messages"] = {t: message(e) for t, e in sorted(used.items())}
    schemas = components.setdefault("schemas", {})
    schemas.pop("EmptyPayload", None)
    schemas.update(_schemas(used.values()))
    if server is not None:
        _one_server(document, server)
    return document


def _one_server(document: dict[str, Any], host: str) -> None:
    """One server, the federation's cluster at `host`, whatever FastStream named it."""
    document["servers"] = {
        "federation": {
            "host": host,
            "protocol": "kafka",
            "description": "the federation's Kafka cluster, as this deployment's settings "
            "name it (TELEMACHUS_KAFKA_BOOTSTRAP_SERVERS); clients authenticate with their "
            "institution's or integrator's principal",
        }
    }
    for channel in document.get("channels", {}).values():
        channel["servers"] = [{"$ref": "#/servers/federation"}]
