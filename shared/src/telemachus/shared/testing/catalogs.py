"""Checks of a gettext catalog against the code it translates (the portal's pages,
identity's e-mails): every message extracted is translated, and keeps its placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def extracted(source: Path, method_map: list[tuple[str, str]]) -> set[str]:
    """The messages in the code, as `pybabel extract -k N_` finds them."""
    found = extract_from_dir(
        str(source), method_map=method_map, keywords={**DEFAULT_KEYWORDS, "N_": None}
    )
    return {message if isinstance(message, str) else message[0] for _, _, message, _, _ in found}


def read_catalog(po: Path) -> Catalog:
    with po.open("rb") as file:
        return read_po(file)


def untranslated(messages: set[str], po: Path) -> list[str]:
    translated = {m.id for m in read_catalog(po) if m.id and m.string and not m.fuzzy}
    return sorted(messages - translated)


def lost_placeholders(po: Path) -> list[str]:
    """Messages whose translation drops or invents a %(name)s placeholder."""
    return [
        str(m.id)
        for m in read_catalog(po)
        if m.id
        and sorted(PLACEHOLDER.findall(str(m.id))) != sorted(PLACEHOLDER.findall(str(m.string)))
    ]
