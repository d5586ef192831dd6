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


async def test_an_idle_connection_outlives_the_clients_own_keep_alive() -> None:
    """The server must not close an idle connection before its client does: closing both
    at 5 s (uvicorn's and httpx's defaults) lost an enrolment's POST in CI, sent on a
    connection the server was closing. Here the connection is left idle longer than a
    client keeps one (httpx: 5 s), then used again: it must still be open."""
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    port = free_port()
    server = embedded_server(app, "127.0.0.1", port)
    serving = asyncio.create_task(server.serve())
    await eventually(lambda: _started(server))
    request = f"GET /ping HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        assert b"200 OK" in await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        await asyncio.wait_for(reader.readexactly(len(b'{"ok":true}')), 10)
        await asyncio.sleep((httpx.Limits().keepalive_expiry or 5.0) + 1.5)
        writer.write(request)
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert b"200 OK" in answer
    finally:
        writer.close()
        server.should_exit = True
        await asyncio.wait_for(serving, STOP_GRACE_SECONDS + 10)
