"""The event catalog for integrators: every service's AsyncAPI 3 document, generated from
the code (what each publishes and consumes, with schemas), merged into one.

Topics are shown for one example institution (the development federation's lead); every
institution has the same topics under its own id (`telemachus.<institution>.<service>`).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from telemachus.cli.federation import BOOTSTRAPS, DEFAULT_INSTITUTIONS
from telemachus.shared.runtime.settings import ServiceSettings
from telemachus.shared.security.keys import load_or_create_development_trust

TITLE = "Telemachus event catalog"
DESCRIPTION = (
    "Every event each Telemachus service publishes and consumes, per topic "
    "(telemachus.<institution>.<service>, shown for one example institution). Each record "
    "is a CloudEvent in Kafka binary mode (ce_* headers), signed by its institution "
    "(ce_dssematerial); the JSON Schema of each event version is in docs/events/."
)


def service_documents() -> dict[str, dict[str, Any]]:
    """Each service's AsyncAPI document, from an app built without starting it (no I/O)."""
    # Imported here: only `make schemas` needs it, and it warns on import.
    from fastapi.testclient import TestClient

    institutions = [(i.id, i.name, i.kind) for i in DEFAULT_INSTITUTIONS]
    lead = DEFAULT_INSTITUTIONS[0].id
    with tempfile.TemporaryDirectory() as keys_dir:
        registry, keys = load_or_create_development_trust(Path(keys_dir), institutions)
        documents: dict[str, dict[str, Any]] = {}
        for service, bootstrap in BOOTSTRAPS.items():
            settings = ServiceSettings(
                institution=lead,
                service=service,
                federation=[i[0] for i in institutions],
                trust_registry_file=registry,
                keys_file=keys[lead],
            )
            # Without `with`, the app's lifespan (store, broker) never starts.
            app = bootstrap(settings, None)
            documents[service] = TestClient(app).get("/asyncapi.json").json()
    return documents


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
        "servers": {
            "development": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "the local broker of `make up`; production: your cluster",
            }
        },
        "channels": {},
        "operations": {},
        "components": {"messages": {}, "schemas": {}},
    }
    for service, document in sorted(documents.items()):
        _merge(catalog["channels"], document.get("channels", {}), f"{service}: channels")
        _merge(catalog["operations"], document.get("operations", {}), f"{service}: operations")
        for kind in ("messages", "schemas"):
            part = document.get("components", {}).get(kind, {})
            _merge(catalog["components"][kind], part, f"{service}: components.{kind}")
    return catalog


def write_catalog(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(merged(service_documents()), indent=2, sort_keys=True) + "\n")
    return path
