"""The base of every wire event: a versioned type name, a key, JSON Schema export."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

_REGISTRY: dict[str, type[IntegrationEvent]] = {}


class IntegrationEvent(BaseModel):
    """A fact one service publishes for others, past tense, never a command.

    Consumers ignore fields they do not know, so adding an optional field is compatible;
    anything else is a new version (a new `event_type` ending in `.vN`).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    # Which field holds the aggregate id: the Kafka key, so one aggregate's events stay in order.
    key_field: ClassVar[str]
    # A version no service publishes any more: its schema stays, for records still on topics.
    retired: ClassVar[bool] = False
    # The fields naming the thing whose changes `sequence` orders (default: the key). An
    # enrolment is one person in one program, though a person's events share one key.
    sequence_of: ClassVar[tuple[str, ...]] = ()

    # In the data, not an extension attribute, so the publisher's signature covers it
    # (the verifiability extension signs no extension attribute).
    sequence: int | None = Field(
        default=None,
        ge=1,
        description="This event's place among the events its publisher made about the same "
        "thing (`sequence_of`, by default the key), from 1. A reader that already holds a "
        "later one ignores this event: it is older than what it knows. Absent in records "
        "from before it was introduced.",
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        event_type = cls.__dict__.get("event_type")
        if event_type is None:
            return
        if not event_type.rsplit(".", 1)[-1].startswith("v"):
            raise TypeError(f"{cls.__name__}.event_type must end in a version (.v1): {event_type}")
        if event_type in _REGISTRY and _REGISTRY[event_type] is not cls:
            raise TypeError(f"event type {event_type} is declared twice")
        _REGISTRY[event_type] = cls

    @property
    def key(self) -> str:
        return str(getattr(self, self.key_field))

    @property
    def sequenced_id(self) -> str:
        """What `sequence` counts the changes of, as one string."""
        return "/".join(str(getattr(self, name)) for name in self.sequence_of or (self.key_field,))


def registered_events() -> dict[str, type[IntegrationEvent]]:
    """Every wire event type known to this process, by versioned type name."""
    return dict(sorted(_REGISTRY.items()))


def event_json_schema(event: type[IntegrationEvent]) -> dict[str, Any]:
    schema = event.model_json_schema(mode="serialization")
    schema["$id"] = f"urn:telemachus:event:{event.event_type}"
    schema["x-event-type"] = event.event_type
    schema["x-kafka-key"] = event.key_field
    schema["x-sequence-of"] = list(event.sequence_of or (event.key_field,))
    return schema
