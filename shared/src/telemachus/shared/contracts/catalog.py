"""Every wire event, importable in one place, and their JSON Schemas for integrators."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from telemachus.shared.contracts import feedback, identity, pairing, sessions
from telemachus.shared.contracts.base import event_json_schema, registered_events

# Importing the modules registers their events; keep the names referenced for linters.
EVENT_MODULES = (identity, pairing, sessions, feedback)


def all_schemas() -> dict[str, dict[str, Any]]:
    return {name: event_json_schema(model) for name, model in registered_events().items()}


def write_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in all_schemas().items():
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written
