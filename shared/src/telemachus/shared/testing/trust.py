"""Development trust material for tests that run services outside a Federation."""

from __future__ import annotations

from pathlib import Path

from telemachus.shared.contracts.vocabulary import InstitutionKind
from telemachus.shared.security.keys import development_trust, write_development_trust


def trust_settings(directory: Path, *institutions: str) -> dict[str, dict[str, Path]]:
    """Per institution, the settings that point its services at a fresh registry and keys."""
    registry, keys = development_trust(
        [(i, i.replace("-", " ").title(), InstitutionKind.HOSPITAL) for i in institutions]
    )
    registry_file, key_files = write_development_trust(directory, registry, keys)
    return {
        i: {"trust_registry_file": registry_file, "keys_file": key_files[i]} for i in institutions
    }
