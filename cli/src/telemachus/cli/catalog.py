"""The event catalog for integrators: every service's AsyncAPI 3 document, generated from
the code (what each publishes and consumes, with schemas), merged into one.

Topics are shown for one example institution (the development federation's lead); every
institution has the same topics under its own id (`telemachus.<institution>.<service>`).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from telemachus.cli.federation import DEFAULT_INSTITUTIONS, bootstrap_of
from telemachus.shared.contracts.topics import SERVICES
from telemachus.shared.runtime.settings import ServiceSettings
from telemachus.shared.security.keys import load_or_create_development_trust

TITLE = "Telemachus event catalog"
DESCRIPTION = (
    "Every event each Telemachus service publishes and consumes, per topic "
    "(telemachus.<institution>.<service>, shown for one example institution). Each record "
    "is a CloudEvent in Kafka binary mode (ce_* headers), signed by its institution "
    "(ce_dssematerial); the JSON Schema of each event version is in docs/events/."
)


@contextmanager
def built_apps() -> Iterator[dict[str, FastAPI]]:
    """Each service's app for the development federation's lead, built without starting it
    (no I/O: without `with`, the app's lifespan, store and broker, never starts)."""
    institutions = [(i.id, i.name, i.kind) for i in DEFAULT_INSTITUTIONS]
    lead = DEFAULT_INSTITUTIONS[0].id
    with tempfile.TemporaryDirectory() as keys_dir:
        # With an IdP named, identity documents its token exchange too (nothing calls it).
        issuers = {i[0]: f"https://idp.{i[0]}.example" for i in institutions}
        registry, keys = load_or_create_development_trust(Path(keys_dir), institutions, issuers)
        yield {
            service: bootstrap_of(service)(
                ServiceSettings(
                    institution=lead,
                    service=service,
                    federation=[i[0] for i in institutions],
                    trust_registry_file=registry,
                    keys_file=keys[lead],
                ),
                None,
            )
            for service in SERVICES
        }


def _documents(path: str) -> dict[str, dict[str, Any]]:
    # Imported here: only `make schemas` and tests need it, and it warns on import.
    from fastapi.testclient import TestClient

    with built_apps() as apps:
        return {service: TestClient(app).get(path).json() for service, app in apps.items()}


def service_documents() -> dict[str, dict[str, Any]]:
    """Each service's AsyncAPI document."""
    return _documents("/asyncapi.json")


def openapi_documents() -> dict[str, dict[str, Any]]:
    """Each service's OpenAPI document."""
    return _documents("/openapi.json")


def _merge(into: dict[str, Any], part: dict[str, Any], where: str) -> None:
    for key, value in part.items():
        if key in into and into[key] != value:
            raise ValueError(f"{where}.{key} differs between services; name it uniquely")
        into[key] = value


def merged(documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    catalog: dict[str, Any] = {
        "asyncapi": "3.0.0",
        "info": {"title": TITLE, "version": "1", "description": DESCRIPTION},
        "defaultContentType": "application/json",
        "servers": {},
        "channels": {},
        "operations": {},
        "components": {"messages": {}, "schemas": {}},
    }
    for service, document in sorted(documents.items()):
        # From the services' settings (TELEMACHUS_KAFKA_BOOTSTRAP_SERVERS): yours, not ours.
        _merge(catalog["servers"], document.get("servers", {}), f"{service}: servers")
        _merge(catalog["channels"], document.get("channels", {}), f"{service}: channels")
        _merge(catalog["operations"], document.get("operations", {}), f"{service}: operations")
        for kind in ("messages", "schemas"):
            part = document.get("components", {}).get(kind, {})
            _merge(catalog["components"][kind], part, f"{service}: components.{kind}")
    return catalog


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return path


def write_catalog(path: Path) -> Path:
    return _write(path, merged(service_documents()))


def write_openapi(directory: Path) -> list[Path]:
    """docs/openapi/<service>.json: each service's HTTP API, as its /openapi.json gives it."""
    return [_write(directory / f"{s}.json", d) for s, d in openapi_documents().items()]
