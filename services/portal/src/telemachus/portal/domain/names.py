"""Short stable names made from a coordinator's words (a goal's key, a module's id)."""

from __future__ import annotations

import re
from collections.abc import Collection


def short_name(text: str, taken: Collection[str], *, fallback: str) -> str:
    """Lower-case words joined by '-', at most 36 characters, starting with a letter, and
    not one of `taken` (then -2, -3, ...)."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    base = "-".join(words)[:36].strip("-") or fallback
    if not base[0].isalpha():
        base = f"{fallback}-{base}"[:36]
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name
