"""The JSON Schemas integrators read are the ones the code publishes."""

from __future__ import annotations

import json
from pathlib import Path

from telemachus.shared.contracts.catalog import all_schemas

PUBLISHED = Path(__file__).parent.parent / "docs" / "events"


def test_published_schemas_match_the_contracts() -> None:
    generated = all_schemas()
    on_disk = {
        p.name.removesuffix(".schema.json"): json.loads(p.read_text())
        for p in PUBLISHED.glob("*.schema.json")
    }
    assert set(on_disk) == set(generated), "run `make schemas` and commit docs/events"
    for name, schema in generated.items():
        assert on_disk[name] == json.loads(json.dumps(schema)), (
            f"{name} changed: a published version must not change incompatibly; "
            "add a new version, or run `make schemas` for a compatible change"
        )
