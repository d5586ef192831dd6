"""Turns a record from Kafka, or a webhook request, into a verified Event.

Either way the same checks, in this order: the CloudEvents attributes are there; the source
is the institution whose topic carried it (Kafka) or that signed it (webhooks); a current
key of that institution signed exactly these attributes and bytes; the body is valid
against its event version's published schema.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

from telemachus_integrator.events import Event, Refused
from telemachus_integrator.registry import TrustRegistry
from telemachus_integrator.schemas import Schemas
from telemachus_integrator.signature import verify

REQUIRED = ("specversion", "id", "source", "type", "time")
RawHeaders = Mapping[str, str | bytes] | Iterable[tuple[str, bytes | str | None]]


def _text(value: str | bytes | None) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else (value or "")


def _attributes(headers: Mapping[str, str], prefix: str) -> dict[str, str]:
    found = {k[len(prefix) :]: v for k, v in headers.items() if k.startswith(prefix)}
    found["datacontenttype"] = headers.get("content-type", "application/json")
    missing = [name for name in REQUIRED if not found.get(name)]
    if missing:
        raise Refused("malformed", f"missing CloudEvents attribute(s): {', '.join(missing)}")
    if found["specversion"] != "1.0":
        raise Refused("malformed", f"specversion {found['specversion']}, expected 1.0")
    return found


class Reader:
    def __init__(self, registry: TrustRegistry | Path | str, schemas: Schemas | None = None):
        self.registry = (
            registry if isinstance(registry, TrustRegistry) else TrustRegistry.load(registry)
        )
        self.schemas = schemas or Schemas()

    def from_kafka(self, topic: str, headers: RawHeaders, value: bytes | None) -> Event:
        """A record of `telemachus.<institution>.<service>`, from any Kafka client."""
        items = headers.items() if isinstance(headers, Mapping) else headers
        try:
            decoded = {str(k): _text(v) for k, v in items}
        except UnicodeDecodeError:
            raise Refused("malformed", "a header is not UTF-8") from None
        attributes = _attributes(decoded, "ce_")
        parts = topic.split(".")
        if len(parts) != 3 or parts[0] != "telemachus":
            raise Refused("wrong-source", f"{topic} is not a Telemachus event topic")
        if attributes["source"] != f"/telemachus/{parts[1]}/{parts[2]}":
            raise Refused("wrong-source", f"source {attributes['source']} on topic {topic}")
        return self._event(attributes, value or b"", parts[1])

    def from_http(self, headers: Mapping[str, str], body: bytes) -> Event:
        """A webhook request (CloudEvents HTTP binding, binary mode)."""
        lowered = {k.lower(): v for k, v in headers.items()}
        attributes = _attributes(lowered, "ce-")
        parts = attributes["source"].split("/")
        if len(parts) != 4 or parts[:2] != ["", "telemachus"]:
            raise Refused("wrong-source", f"source {attributes['source']}")
        return self._event(attributes, body, parts[2])

    def _event(self, attributes: Mapping[str, str], data: bytes, institution: str) -> Event:
        verify(attributes, data, institution, self.registry)
        try:
            body = json.loads(data)
        except ValueError as error:
            raise Refused("invalid", f"the body is not JSON: {error}") from None
        self.schemas.validate(attributes["type"], body)
        fields = self.schemas.sequence_of(attributes["type"])
        return Event(
            id=attributes["id"],
            source=attributes["source"],
            type=attributes["type"],
            time=datetime.fromisoformat(attributes["time"].replace("Z", "+00:00")),
            subject=attributes.get("subject"),
            data=body,
            thing="/".join(str(body.get(f)) for f in fields),
            sequence=body.get("sequence"),
        )


class Freshness:
    """What to apply: delivery is at least once, and a replayed or re-published event may
    be older than what you hold. `admit` is False for an event seen before (by source and
    id) or numbered at or below the last one applied about the same thing."""

    def __init__(self, remember: int = 100_000) -> None:
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._latest: dict[tuple[str, str], int] = {}
        self._remember = remember

    def admit(self, event: Event) -> bool:
        seen = (event.source, event.id)
        if seen in self._seen:
            return False
        self._seen[seen] = None
        if len(self._seen) > self._remember:
            self._seen.popitem(last=False)
        if event.sequence is None:  # records from before sequences
            return True
        thing = (event.source, event.thing)
        if event.sequence <= self._latest.get(thing, 0):
            return False
        self._latest[thing] = event.sequence
        return True
