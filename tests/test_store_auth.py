"""A service reaches an authenticating MongoDB-protocol store as its own user, with the
password from a mounted file (how docker-compose and Kubernetes run it); without it, the
store refuses. Runs SecantusDB with --auth: a real SCRAM handshake, no mock."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo import MongoClient
from pymongo.errors import OperationFailure

from telemachus.shared.runtime.local_infra import free_port, secantus_argv
from telemachus.shared.runtime.settings import ServiceSettings
from telemachus.shared.runtime.store import create_mongo_client


def secantus(storage: Path, port: int, *flags: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        secantus_argv(port, storage, *flags),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def authenticating_store(tmp_path: Path) -> Iterator[str]:
    """A store with a `pairing` user (readWrite on its database), restarted with --auth."""
    storage, port = tmp_path / "data", free_port()
    uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    server = secantus(storage, port)
    try:
        client: MongoClient[dict[str, object]] = MongoClient(uri)  # waits for the server
        client.admin.command(
            "createUser",
            "pairing",
            pwd="pairing-secret",
            roles=[{"role": "readWrite", "db": "telemachus-hospital-pairing"}],
        )
        client.close()
    finally:
        server.terminate()
        server.wait(10)
    server = secantus(storage, port, "--auth")
    try:
        yield uri + "&authSource=admin"
    finally:
        server.terminate()
        server.wait(10)


async def test_a_service_uses_its_own_user_with_the_password_from_a_file(
    authenticating_store: str, tmp_path: Path
) -> None:
    secret = tmp_path / "mongo-pairing.password"
    secret.write_text("pairing-secret\n")
    settings = ServiceSettings(
        institution="hospital",
        service="pairing",
        mongodb_uri=authenticating_store,
        mongodb_password_file=secret,
    )
    database = settings.database_name
    with_user = create_mongo_client(settings.mongodb_uri, "test", settings.mongodb_credentials())
    anonymous = create_mongo_client(settings.mongodb_uri, "test")
    try:
        # Server selection waits for the restarted server to come up.
        await with_user[database]["probe"].insert_one({"_id": "written"})
        assert await with_user[database]["probe"].find_one({"_id": "written"})
        with pytest.raises(OperationFailure):
            await anonymous[database]["probe"].insert_one({"_id": "refused"})
    finally:
        await with_user.close()
        await anonymous.close()
