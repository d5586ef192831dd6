"""Servers a fault test stops and starts again on the same port: a SecantusDB on its own
files, a Tansu. Started without LocalInfrastructure's parent-death hook: a `preexec_fn` in
a process that already runs threads (the services' executors) can deadlock the fork."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from telemachus.shared.runtime.local_infra import (
    free_port,
    kafka_answers,
    mongo_answers,
    secantus_argv,
    tansu_argv,
)


class RestartableServer:
    def __init__(self, argv: Callable[[int], list[str]], answers: Callable[[int], bool]) -> None:
        self.port = free_port()
        self._argv, self._answers = argv, answers
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self._argv(self.port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(300):
            if self._answers(self.port):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self._argv(self.port)[0]} did not come up")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def store_uri(port: int) -> str:
    # Operations fail fast while it is down, as they would against a lost replica set.
    return f"mongodb://127.0.0.1:{port}/?directConnection=true&serverSelectionTimeoutMS=1000"


class RestartableStore(RestartableServer):
    """A SecantusDB on its own port and files."""

    def __init__(self, storage: Path) -> None:
        super().__init__(
            lambda port: secantus_argv(port, storage), lambda port: mongo_answers(store_uri(port))
        )
        self.uri = store_uri(self.port)


class RestartableBroker(RestartableServer):
    """A Tansu on its own port (memory only: a restart loses everything it held)."""

    def __init__(self) -> None:
        super().__init__(tansu_argv, lambda port: kafka_answers("127.0.0.1", port))
        self.kafka_bootstrap_servers = f"127.0.0.1:{self.port}"
