"""Readiness asks the store with one ping: a connection the server dropped while idle must
not make a service unready, a store that is down must."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.errors import AutoReconnect

from telemachus.shared.runtime.store import ping


class _Admin:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def command(self, name: str) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.failures:
            raise AutoReconnect("connection closed")
        return {"ok": 1}


class _Client:
    def __init__(self, failures: int) -> None:
        self.admin = _Admin(failures)


async def test_a_dropped_pooled_connection_is_tried_once_more() -> None:
    client = _Client(failures=1)
    await ping(client)  # type: ignore[arg-type]
    assert client.admin.calls == 2


async def test_a_store_that_does_not_answer_is_not_ready() -> None:
    with pytest.raises(AutoReconnect):
        await ping(_Client(failures=5))  # type: ignore[arg-type]
