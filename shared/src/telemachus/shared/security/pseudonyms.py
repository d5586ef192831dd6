"""Keyed one-way codes: equal inputs give equal codes, and the code does not give the input
back to anyone without the institution's pseudonym key (an e-mail cannot be guessed and
hashed to match, as it could with a plain hash)."""

from __future__ import annotations

import hashlib
import hmac


def keyed_code(key: bytes, purpose: str, value: str, length: int = 16) -> str:
    """`length` hex digits of HMAC-SHA256 over the purpose and the value."""
    message = purpose.encode() + b"|" + value.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:length]
