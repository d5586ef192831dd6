"""CloudEvents 1.0 in Kafka binary mode: attributes travel as `ce_*` headers, data is the body.

Nothing personal goes into these attributes: `subject` is an opaque aggregate id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from telemachus.shared.errors import problems

SPEC_VERSION = "1.0"
JSON_CONTENT_TYPE = "application/json"
# Kafka protocol binding: attributes are `ce_<name>`, datacontenttype maps to `content-type`.
HEADER_PREFIX = "ce_"
CONTENT_TYPE_HEADER = "content-type"


class EnvelopeError(ValueError):
    """The headers do not form a valid CloudEvent; the message names the attribute."""


class CloudEventAttributes(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=200)
    time: datetime
    subject: str | None = Field(default=None, max_length=200)
    specversion: str = SPEC_VERSION
    datacontenttype: str = JSON_CONTENT_TYPE

    def to_headers(self) -> dict[str, str]:
        headers = {
            f"{HEADER_PREFIX}specversion": self.specversion,
            f"{HEADER_PREFIX}id": self.id,
            f"{HEADER_PREFIX}source": self.source,
            f"{HEADER_PREFIX}type": self.type,
            f"{HEADER_PREFIX}time": self.time.astimezone(UTC).isoformat(),
            CONTENT_TYPE_HEADER: self.datacontenttype,
        }
        if self.subject is not None:
            headers[f"{HEADER_PREFIX}subject"] = self.subject
        return headers

    @classmethod
    def from_headers(
        cls, headers: Mapping[str, str | bytes] | Iterable[tuple[str, bytes]]
    ) -> CloudEventAttributes:
        decoded = decode_headers(headers)
        required = ("specversion", "id", "source", "type", "time")
        missing = [
            f"{HEADER_PREFIX}{name}" for name in required if f"{HEADER_PREFIX}{name}" not in decoded
        ]
        if missing:
            raise EnvelopeError(f"missing CloudEvents header(s): {', '.join(missing)}")
        if decoded[f"{HEADER_PREFIX}specversion"] != SPEC_VERSION:
            raise EnvelopeError(
                f"ce_specversion: expected {SPEC_VERSION!r}, "
                f"got {decoded[f'{HEADER_PREFIX}specversion']!r}"
            )
        fields = {
            key[len(HEADER_PREFIX) :]: value
            for key, value in decoded.items()
            if key.startswith(HEADER_PREFIX)
        }
        fields["datacontenttype"] = decoded.get(CONTENT_TYPE_HEADER, JSON_CONTENT_TYPE)
        try:
            return cls.model_validate(
                {name: fields.get(name) for name in cls.model_fields if name in fields}
            )
        except ValidationError as exc:
            where, why = problems(exc, whole="")[0]
            raise EnvelopeError(f"ce_{where}: {why}") from exc


def decode_headers(
    headers: Mapping[str, str | bytes] | Iterable[tuple[str, bytes]],
) -> dict[str, str]:
    """Kafka headers arrive as (name, bytes) pairs; undecodable values are refused, not guessed."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    decoded: dict[str, str] = {}
    for name, value in items:
        if isinstance(value, bytes):
            try:
                decoded[name] = value.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise EnvelopeError(f"{name}: header is not UTF-8") from exc
        else:
            decoded[name] = value
    return decoded
