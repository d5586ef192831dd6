"""Every wire event, importable in one place, and their JSON Schemas for integrators."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from telemachus.shared.contracts import feedback, identity, pairing, sessions
from telemachus.shared.contracts.base import event_json_schema, registered_events
from telemachus.shared.contracts.examples import event_example

# Importing the modules registers their events; keep the names referenced for linters.
EVENT_MODULES = (identity, pairing, sessions, feedback)


def all_schemas() -> dict[str, dict[str, Any]]:
    return {name: event_json_schema(model) for name, model in registered_events().items()}


def all_examples() -> dict[str, dict[str, Any]]:
    return {name: event_example(model) for name, model in registered_events().items()}


def write_schemas(directory: Path) -> list[Path]:
    """<type>.schema.json and <type>.example.json for every event version."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    examples = all_examples()
    for name, schema in all_schemas().items():
        for suffix, content in (("schema", schema), ("example", examples[name])):
            path = directory / f"{name}.{suffix}.json"
            path.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            written.append(path)
    return written
