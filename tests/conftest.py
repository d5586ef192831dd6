"""Fixtures for tests that run on a real broker and store (see shared.testing.backends)."""

from __future__ import annotations

import asyncio
import io
import os
import secrets
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from telemachus.cli.federation import DEFAULT_INSTITUTIONS, Federation, Institution
from telemachus.shared.contracts.topics import event_topic
from telemachus.shared.runtime.broker import ensure_topics
from telemachus.shared.runtime.local_mail import LocalMailServer
from telemachus.shared.testing.backends import Backend, start_backend
from tests.helpers.counting_service import CountingService, settings_for
from tests.helpers.sites import Site

_used: list[str] = []


def pytest_report_header() -> str:
    return "backend: chosen at first use (KAFKA_BOOTSTRAP_SERVERS/MONGODB_URI, Docker, or local)"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in _used:
        terminalreporter.write_line(f"backend used: {line}")


@pytest.fixture(scope="session")
def backend() -> Iterator[Backend]:
    chosen = start_backend()
    _used.append(chosen.describe())
    print(f"\nbackend: {chosen.describe()}", file=sys.stderr)
    try:
        yield chosen
    finally:
        chosen.stop()


@pytest.fixture(scope="session")
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def unique_institutions(count: int = 3) -> list[Institution]:
    """Fresh ids per federation: tests that share a broker never read each other's topics."""
    suffix = secrets.token_hex(3)
    return [
        Institution(f"{i.kind.split()[0]}-{suffix}", i.name, i.kind)
        for i in DEFAULT_INSTITUTIONS[:count]
    ]


@asynccontextmanager
async def running_federation(
    kafka: str, mongodb: str, count: int, prefix: str, trust_dir: Path, **options: Any
) -> AsyncIterator[Federation]:
    """`count` fresh institutions (unless `institutions` names them), four services each,
    on the given broker and store."""
    options.setdefault("institutions", unique_institutions(count))
    # People sign in at their institution's development IdP, as everywhere.
    options.setdefault("identity_providers", True)
    running = Federation(
        kafka,
        mongodb,
        database_prefix=f"{prefix}-{secrets.token_hex(3)}",
        trust_dir=trust_dir,
        **options,
    )
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture(scope="session")
def mail_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMailServer]:
    """A real SMTP server on loopback, keeping what it accepts in a maildir."""
    with LocalMailServer(tmp_path_factory.mktemp("mail") / "maildir") as server:
        yield server


@pytest.fixture(scope="session")
async def federation(
    backend: Backend,
    spans: InMemorySpanExporter,
    mail_server: LocalMailServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Federation]:
    """Three institutions, four services each, shared by the tests that only observe it;
    their notifiers mail through `mail_server`."""
    async with running_federation(
        backend.kafka_bootstrap_servers,
        backend.mongodb_uri,
        3,
        "test",
        tmp_path_factory.mktemp("trust"),
        extra_exporters=[spans],
        identity_providers=True,
        mail_relay=("127.0.0.1", mail_server.port),
    ) as running:
        yield running


@pytest.fixture
async def source(backend: Backend) -> str:
    """A fresh topic standing for another institution's identity topic."""
    topic = event_topic(f"src-{secrets.token_hex(3)}", "identity")
    await ensure_topics(backend.kafka_bootstrap_servers, [topic], 1)
    return topic


@pytest.fixture
async def counting(backend: Backend, source: str) -> AsyncIterator[CountingService]:
    """A consumer of `source` whose every handled event adds one to a counter."""
    service = CountingService(settings_for(backend, f"count-{secrets.token_hex(3)}"), source)
    await service.runtime.start()
    yield service
    await service.runtime.stop()


@pytest.fixture
async def sites(
    federation: Federation,
) -> AsyncIterator[tuple[Site, Site, Site]]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield (
            await Site.open(federation, 0, client),
            await Site.open(federation, 1, client),
            await Site.open(federation, 2, client),
        )


# A test still running after this long has most likely hung (the notifier-kill fault test
# passes in over 120 s; pytest-timeout stops a test at 300 s). The stacks of the tasks
# doing our work go to the terminal while it is still stuck, past pytest's capture, so a
# CI log says where; the timeout's own traceback shows only the event loop.
HANG_REPORT_SECONDS = float(os.environ.get("TELEMACHUS_HANG_REPORT_SECONDS", "240"))
# Frames that mean work in flight: the test itself, a request, a handler, a consumed event.
# Idle loops (periodic jobs, relays, committers, fetches) would bury them.
IN_FLIGHT = ("/tests/", "/entrypoints/", "/service_layer/", "runtime/bus.py", "runtime/consumer.py")


@pytest.fixture(autouse=True)
async def report_hang(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    plugins = request.config.pluginmanager

    def report() -> None:
        capture, terminal = (plugins.get_plugin(n) for n in ("capturemanager", "terminalreporter"))
        if capture is None or terminal is None:
            return
        stacks = io.StringIO()
        for task in asyncio.all_tasks(loop):
            frames = [f.f_code.co_filename for f in task.get_stack(limit=40)]
            if any(marker in name for name in frames for marker in IN_FLIGHT):
                task.print_stack(limit=15, file=stacks)
        with capture.global_and_fixture_disabled():
            terminal.write_line(
                f"\n--- {request.node.nodeid} still running after {HANG_REPORT_SECONDS:.0f} s;"
                f" its tasks:\n{stacks.getvalue()}--- end of tasks"
            )

    timer = loop.call_later(HANG_REPORT_SECONDS, report)
    try:
        yield
    finally:
        timer.cancel()
