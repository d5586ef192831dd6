"""The portal's catalogs: its .po files, read with the shared loader."""

from __future__ import annotations

from pathlib import Path

from telemachus.shared.translations import Catalogs

CATALOGS = Path(__file__).parent / "translations"


def portal_catalogs() -> Catalogs:
    return Catalogs.load(CATALOGS)
