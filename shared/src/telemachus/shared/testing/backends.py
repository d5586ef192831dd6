"""Which Kafka and MongoDB a test run uses, chosen once and printed.

1. KAFKA_BOOTSTRAP_SERVERS and MONGODB_URI, when both are set (a real deployment).
2. testcontainers (Apache Kafka; MongoDB as a single-node replica set), where a Docker
   engine answers.
3. Otherwise the embedded stand-ins (Tansu, SecantusDB) from the local launcher.
If none starts, the run fails: it never silently skips.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telemachus.shared.runtime.local_infra import LocalInfrastructure


@dataclass
class Backend:
    name: str
    kafka_bootstrap_servers: str
    mongodb_uri: str
    stop: Callable[[], None]
    pids: tuple[int, ...] = ()

    def describe(self) -> str:
        return f"{self.name} (kafka={self.kafka_bootstrap_servers}, mongodb={self.mongodb_uri})"


def docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _wait_for_primary(uri: str, within: float = 60.0) -> None:
    from pymongo import MongoClient

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        client: MongoClient[dict[str, Any]] = MongoClient(uri, serverSelectionTimeoutMS=1000)
        try:
            if client.admin.command("hello").get("isWritablePrimary"):
                return
        except Exception:
            pass
        finally:
            client.close()
        time.sleep(0.5)
    raise TimeoutError(f"MongoDB at {uri} did not become a writable primary")


def _containers() -> Backend:
    # Imported lazily: collecting tests must never need Docker.
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    kafka: Any = KafkaContainer("confluentinc/cp-kafka:7.6.1").with_kraft()
    # Not MongoDbContainer: it always creates a root user, which turns on auth, and mongod
    # refuses auth on a replica set without a key file. Transactions need the replica set.
    mongo: Any = (
        DockerContainer("mongo:7.0")
        .with_command("--replSet rs0 --bind_ip_all")
        .with_exposed_ports(27017)
        .waiting_for(LogMessageWaitStrategy(re.compile("waiting for connections", re.I)))
    )
    kafka.start()
    try:
        mongo.start()
        mongo.exec(
            [
                "mongosh",
                "--quiet",
                "--eval",
                "rs.initiate({_id: 'rs0', members: [{_id: 0, host: 'localhost:27017'}]})",
            ]
        )
        host, port = mongo.get_container_host_ip(), mongo.get_exposed_port(27017)
        uri = f"mongodb://{host}:{port}/?directConnection=true"
        _wait_for_primary(uri)
    except BaseException:
        with contextlib.suppress(Exception):
            mongo.stop()
        kafka.stop()
        raise

    def stop() -> None:
        mongo.stop()
        kafka.stop()

    return Backend(
        "testcontainers (Apache Kafka, MongoDB replica set)",
        kafka.get_bootstrap_server(),
        uri,
        stop,
    )


def _local() -> Backend:
    infra = LocalInfrastructure()
    infra.start()
    return Backend(
        "local (Tansu, SecantusDB)",
        infra.kafka_bootstrap_servers,
        infra.mongodb_uri,
        infra.stop,
        tuple(infra.pids),
    )


def start_backend() -> Backend:
    kafka, mongo = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("MONGODB_URI")
    if kafka and mongo:
        return Backend(
            "external (from KAFKA_BOOTSTRAP_SERVERS, MONGODB_URI)", kafka, mongo, lambda: None
        )
    if docker_answers():
        return _containers()
    return _local()
