"""A federation stops even when a request never finishes: a stuck request (a store that
does not answer, a client that never reads) must not hold a test run or a Ctrl-C forever."""

from __future__ import annotations

import asyncio
import time

import httpx
from fastapi import FastAPI

from telemachus.cli.federation import STOP_GRACE_SECONDS, embedded_server
from telemachus.shared.runtime.local_infra import free_port
from telemachus.shared.testing.kafka import eventually


async def test_a_server_with_a_request_that_never_ends_still_stops() -> None:
    app = FastAPI()
    entered = asyncio.Event()

    @app.get("/forever")
    async def forever() -> None:
        entered.set()
        await asyncio.Event().wait()  # never set: the request hangs

    port = free_port()
    server = embedded_server(app, "127.0.0.1", port)
    serving = asyncio.create_task(server.serve())
    await eventually(lambda: _started(server))
    async with httpx.AsyncClient(timeout=None) as client:
        request = asyncio.create_task(client.get(f"http://127.0.0.1:{port}/forever"))
        await asyncio.wait_for(entered.wait(), 10)
        began = time.monotonic()
        server.should_exit = True
        await asyncio.wait_for(serving, STOP_GRACE_SECONDS + 10)
        assert time.monotonic() - began < STOP_GRACE_SECONDS + 5
        request.cancel()


async def _started(server: object) -> bool:
    return bool(getattr(server, "started", False))
