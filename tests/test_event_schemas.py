"""The JSON Schemas integrators read are the ones the code publishes, and no published
event version ever changes incompatibly."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema

from telemachus.cli.catalog import merged, service_documents
from telemachus.shared.contracts.base import registered_events
from telemachus.shared.contracts.catalog import all_examples, all_schemas
from telemachus.shared.contracts.compatibility import (
    catalog_incompatibilities,
    incompatibilities,
)

PUBLISHED = Path(__file__).parent.parent / "docs" / "events"


def published() -> dict[str, dict[str, Any]]:
    return {
        p.name.removesuffix(".schema.json"): json.loads(p.read_text())
        for p in PUBLISHED.glob("*.schema.json")
    }


def test_no_published_event_version_changed_incompatibly() -> None:
    broken = catalog_incompatibilities(published(), json.loads(json.dumps(all_schemas())))
    assert broken == {}, (
        "a published version must not change incompatibly; publish a new version (.v2) "
        f"alongside instead: {json.dumps(broken, indent=1)}"
    )


def test_published_schemas_are_current() -> None:
    generated = json.loads(json.dumps(all_schemas()))
    on_disk = published()
    assert set(generated) >= set(on_disk)
    changed = sorted(n for n in generated if on_disk.get(n) != generated[n])
    assert not changed, f"compatible changes not yet published: run `make schemas` ({changed})"


def test_the_check_refuses_each_kind_of_breaking_change() -> None:
    name = "org.telemachus.identity.participant-enrolled.v1"
    original = published()[name]

    def changed(edit: Any) -> list[str]:
        schema = copy.deepcopy(original)
        edit(schema)
        return incompatibilities(original, schema)

    assert changed(lambda s: None) == []
    # An optional field added, and documentation changed: compatible.
    assert changed(lambda s: s["properties"].update(note={"type": "string"})) == []
    assert changed(lambda s: s.update(description="reworded")) == []
    # A field removed.
    assert changed(lambda s: s["properties"].pop("program_id")) == ["data.program_id: removed"]
    # A type changed.
    assert changed(lambda s: s["properties"]["program_id"].update(type="integer")) == [
        "data.program_id: type ['string'] became ['integer']"
    ]
    # A field made required (inside a definition, too).
    assert changed(lambda s: s["required"].append("note") or s["properties"].update(note={}))
    profile = original["$defs"]["SharedProfileV1"]
    assert "career_stage" not in profile.get("required", [])
    assert changed(
        lambda s: s["$defs"]["SharedProfileV1"].setdefault("required", []).append("career_stage")
    ) == ["SharedProfileV1.career_stage: made required"]
    # An enum given a value its readers do not know.
    profession = profile["properties"]["profession"]
    assert changed(lambda s: s["$defs"]["Profession"]["enum"].append("astrology")) == [
        "Profession: new values 'astrology'"
    ], profession
    # A published version removed from the catalogue.
    assert catalog_incompatibilities({name: original}, {}) == {name: ["published version removed"]}


def test_the_event_catalog_is_current_and_lists_every_event() -> None:
    catalog = json.loads(json.dumps(merged(service_documents())))
    on_disk = json.loads((PUBLISHED.parent / "asyncapi.json").read_text())
    assert on_disk == catalog, "run `make schemas` and commit docs/asyncapi.json"
    text = json.dumps(catalog)
    live = [name for name, event in registered_events().items() if not event.retired]
    assert [e for e in live if e not in text] == []


def test_every_event_has_a_published_example_valid_against_its_schema() -> None:
    schemas = published()
    for name, example in all_examples().items():
        path = PUBLISHED / f"{name}.example.json"
        assert path.exists(), f"run `make schemas`: no example for {name}"
        assert json.loads(path.read_text()) == example, f"run `make schemas`: {name}"
        jsonschema.validate(example, schemas[name])  # an independent validator


def test_every_catalog_message_has_headers_key_and_an_example_its_schemas_accept() -> None:
    """What the AsyncAPI parser's check (make lint) asks, and the examples validated by an
    independent JSON Schema validator against the message's own headers and payload."""
    catalog = json.loads((PUBLISHED.parent / "asyncapi.json").read_text())
    schemas = catalog["components"]["schemas"]
    messages = catalog["components"]["messages"]
    live = {name for name, event in registered_events().items() if not event.retired}
    assert set(messages) == live
    for name, message in messages.items():
        assert message["description"] and message["bindings"]["kafka"]["key"], name
        # The payload schema's $refs point into the catalog's components: keep them in reach.
        payload = {
            **schemas[message["payload"]["$ref"].rsplit("/", 1)[-1]],
            "components": {"schemas": schemas},
        }
        (example,) = message["examples"]
        jsonschema.validate(example["headers"], message["headers"])
        jsonschema.validate(example["payload"], payload)
        assert example["headers"]["ce_subject"] == str(example["payload"][payload["x-kafka-key"]])
    # Every channel's messages are catalog messages: none is empty.
    for channel in catalog["channels"].values():
        assert channel["messages"], channel["address"]
        for ref in channel["messages"].values():
            assert ref["$ref"].rsplit("/", 1)[-1] in messages
