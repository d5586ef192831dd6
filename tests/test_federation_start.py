"""A federation that cannot start stops everything it started (the IdPs' node processes
included) and says which server failed, instead of leaving processes behind: seen when a
portal's port was taken between choosing it and binding it."""

from __future__ import annotations

import secrets
import socket
from pathlib import Path

import pytest

from telemachus.cli.federation import Federation
from telemachus.shared.testing.backends import Backend
from tests.conftest import unique_institutions


async def test_a_portal_whose_port_is_taken_fails_the_start_and_leaves_nothing_running(
    backend: Backend, tmp_path: Path
) -> None:
    federation = Federation(
        backend.kafka_bootstrap_servers,
        backend.mongodb_uri,
        institutions=unique_institutions(1),
        database_prefix=f"start-{secrets.token_hex(3)}",
        trust_dir=tmp_path / "trust",
        identity_providers=True,
    )
    federation.build()
    [portal] = federation.portals.values()
    [idp] = federation.idps.values()
    node = idp.process
    assert node is not None and node.poll() is None
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", portal.port))
        squatter.listen()
        with pytest.raises(RuntimeError, match="portal failed to start"):
            await federation.start()
    assert node.poll() is not None  # the IdP's node process was stopped with the rest
    assert all(s.task is None or s.task.done() for s in federation.services.values())
