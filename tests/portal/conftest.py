"""The browser the portal tests share (one Chromium; each person their own context), and a
federation of their own: the journeys publish hundreds of events, and the tests that share
the session's federation should not start from what a journey left running (see
docs/portal.md, "Tests")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser

from telemachus.cli.federation import Federation
from telemachus.cli.portal_browser import chromium
from telemachus.shared.testing.backends import Backend
from tests.conftest import running_federation


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as running:
        yield running


@pytest.fixture(scope="package")
async def federation(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Federation]:
    trust: Path = tmp_path_factory.mktemp("portal-trust")
    async with running_federation(
        backend.kafka_bootstrap_servers, backend.mongodb_uri, 3, "portal", trust
    ) as running:
        yield running
