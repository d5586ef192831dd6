"""The form that opens a pairing round: a round of pairs, or of circles with their sizes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def round_request(form: Mapping[str, Any]) -> dict[str, Any]:
    """What the pairing service is asked for. Sizes go as typed: the service checks them
    and names the field it refuses (`circle_sizes.smallest`, ...)."""
    if form.get("format") != "circles":
        return {}
    sizes: dict[str, Any] = {}
    for name in ("smallest", "largest"):
        typed = form.get(name)
        if isinstance(typed, str) and typed.strip():
            sizes[name] = int(typed) if typed.strip().isdigit() else typed.strip()
    return {"format": "circles", "circle_sizes": sizes}
