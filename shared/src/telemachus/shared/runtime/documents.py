"""Aggregates to MongoDB documents and back: the aggregate id is the document `_id`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from pydantic import TypeAdapter

from telemachus.shared.domain import Aggregate
from telemachus.shared.runtime.store import Document

A = TypeVar("A", bound=Aggregate)
_JSON_TIME: TypeAdapter[datetime] = TypeAdapter(datetime)


def to_document(aggregate: Aggregate) -> Document:
    document = aggregate.model_dump(mode="json")
    document["_id"] = document.pop("id")
    return document


def from_document(model: type[A], document: Mapping[str, Any]) -> A:
    data = dict(document)
    data["id"] = data.pop("_id")
    return model.model_validate(data)


def stamp(moment: datetime) -> str:
    """A time as aggregates store it (pydantic's JSON form, which sorts as time does for
    UTC times), for range queries on their fields."""
    return str(_JSON_TIME.dump_python(moment, mode="json"))
