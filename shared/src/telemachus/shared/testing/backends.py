"""Which Kafka and MongoDB a test run uses, chosen once and printed.

1. KAFKA_BOOTSTRAP_SERVERS and MONGODB_URI, when both are set (a real deployment).
2. testcontainers (Apache Kafka; MongoDB as a single-node replica set), where a Docker
   engine answers.
3. Otherwise the embedded stand-ins (Tansu, SecantusDB) from the local launcher.
If none starts, the run fails: it never silently skips.
"""

from __future__ import annotations

import os
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


def _containers() -> Backend:
    # Imported lazily: collecting tests must never need Docker.
    from testcontainers.kafka import KafkaContainer
    from testcontainers.mongodb import MongoDbContainer

    kafka: Any = KafkaContainer("confluentinc/cp-kafka:7.6.1").with_kraft()
    mongo: Any = MongoDbContainer("mongo:7.0").with_command("--replSet rs0 --bind_ip_all")
    kafka.start()
    try:
        mongo.start()
        # A single-node replica set: transactions need one.
        mongo.exec(
            [
                "mongosh",
                "--quiet",
                "-u",
                mongo.username,
                "-p",
                mongo.password,
                "--eval",
                "rs.initiate({_id:'rs0',members:[{_id:0,host:'localhost:27017'}]})",
            ]
        )
    except BaseException:
        kafka.stop()
        raise
    uri = mongo.get_connection_url() + "/?directConnection=true&authSource=admin"

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
