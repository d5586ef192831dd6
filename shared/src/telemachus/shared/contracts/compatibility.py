"""Whether an event version's new JSON Schema can still be read as the published one.

A published version never changes incompatibly: consumers written against it, and events
already in the log, must keep working. Incompatible, per version:
- a field removed (consumers read it);
- a field's type changed or widened, or an enum given new values (consumers validate it);
- a field made required, or a new required field (events already in the log lack it);
- the version itself removed.
Adding an optional field, documentation, or narrowing a field's values is compatible.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

Schema = Mapping[str, Any]


def _types(schema: Schema) -> set[str]:
    """The JSON types and referenced definitions a value may take."""
    found: set[str] = set()
    if "$ref" in schema:
        found.add(f"ref:{schema['$ref'].rsplit('/', 1)[-1]}")
    kind = schema.get("type")
    if isinstance(kind, str):
        found.add(kind)
    elif isinstance(kind, list):
        found.update(kind)
    for key in ("anyOf", "oneOf"):
        for option in schema.get(key, []):
            found |= _types(option)
    if "const" in schema and not found:
        found.add(type(schema["const"]).__name__)
    return found


def _enum(schema: Schema) -> set[str] | None:
    values: set[str] = set()
    options = [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]
    for option in options:
        if "enum" in option:
            values.update(map(repr, option["enum"]))
    return values or None


def _compare(old: Schema, new: Schema, where: str) -> Iterator[str]:
    old_types, new_types = _types(old), _types(new)
    if old_types and new_types - old_types:
        yield f"{where}: type {sorted(old_types)} became {sorted(new_types)}"
    old_enum, new_enum = _enum(old), _enum(new)
    if old_enum is not None and (new_enum is None or new_enum - old_enum):
        added = sorted((new_enum or {"any value"}) - old_enum)
        yield f"{where}: new values {', '.join(added)}"
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, field in old_props.items():
        if name not in new_props:
            yield f"{where}.{name}: removed"
        else:
            yield from _compare(field, new_props[name], f"{where}.{name}")
    newly_required = set(new.get("required", [])) - set(old.get("required", []))
    for name in sorted(newly_required):
        yield f"{where}.{name}: made required"
    if "items" in old and "items" in new:
        yield from _compare(old["items"], new["items"], f"{where}[]")


def incompatibilities(published: Schema, current: Schema) -> list[str]:
    """What in `current` breaks readers of `published` (same event version)."""
    problems = list(_compare(published, current, "data"))
    old_defs, new_defs = published.get("$defs", {}), current.get("$defs", {})
    for name, definition in old_defs.items():
        if name in new_defs:
            problems.extend(_compare(definition, new_defs[name], name))
    return problems


def catalog_incompatibilities(
    published: Mapping[str, Schema], current: Mapping[str, Schema]
) -> dict[str, list[str]]:
    """Per published event version, what breaks it (a removed version breaks everything)."""
    found: dict[str, list[str]] = {}
    for event_type, schema in published.items():
        if event_type not in current:
            found[event_type] = ["published version removed"]
        elif problems := incompatibilities(schema, current[event_type]):
            found[event_type] = problems
    return found
