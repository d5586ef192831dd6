"""The published JSON Schema of each event version (bundled: the copy of docs/events this
package was built with, or a directory you name)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from telemachus_integrator.events import Refused

SUFFIX = ".schema.json"


class Schemas:
    def __init__(self, directory: Path | str | None = None) -> None:
        if directory is None:
            files = [
                f
                for f in resources.files("telemachus_integrator").joinpath("schemas").iterdir()
                if f.name.endswith(SUFFIX)
            ]
            texts = {f.name: f.read_text(encoding="utf-8") for f in files}
        else:
            texts = {
                p.name: p.read_text(encoding="utf-8") for p in Path(directory).glob(f"*{SUFFIX}")
            }
        self._schemas: dict[str, dict[str, Any]] = {
            name.removesuffix(SUFFIX): json.loads(text) for name, text in texts.items()
        }

    def types(self) -> list[str]:
        return sorted(self._schemas)

    def schema(self, event_type: str) -> dict[str, Any]:
        return self._schemas[event_type]

    def sequence_of(self, event_type: str) -> list[str]:
        """The fields naming the thing an event's `sequence` counts the changes of."""
        return list(self._schemas[event_type].get("x-sequence-of", []))

    def validate(self, event_type: str, data: Any) -> None:
        schema = self._schemas.get(event_type)
        if schema is None:
            raise Refused("unknown-type", f"no published schema for {event_type}")
        try:
            jsonschema.validate(data, schema)
        except jsonschema.ValidationError as error:
            where = ".".join(str(p) for p in error.absolute_path) or "the body"
            raise Refused("invalid", f"{where}: {error.message}") from None
