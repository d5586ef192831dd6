"""Cold start benchmark: how soon a new process is of use, imports included.

Measured in the same run, each against a baseline:
  command        `telemachus --help`, against the interpreter starting and doing nothing
  one service    `telemachus service pairing` as a container runs it, from exec to its
                 readiness answering 200 (imports, kernels loaded from numba's cache, topics
                 and indexes, consumer groups joined), against a bare process that imports
                 aiokafka and joins one consumer group on the same broker
  fresh clone    (unless --no-fresh-clone) `git clone` of this checkout's HEAD, then
                 `make demo` in it: install included (uv, the venv, the kernels, the IdP's
                 npm packages), against `make demo` here, where nothing is left to install

Printed times are wall-clock seconds on this machine. The fresh clone installs from the
machine's uv, npm and kernel caches (a first install on a new machine compiles the kernels
once, 25-35 s here).

usage: python benchmarks/cold_start.py [--runs N] [--no-fresh-clone]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from summary import Figure, report  # a sibling module: run as a script

from telemachus.cli.federation import DEFAULT_INSTITUTIONS, Federation
from telemachus.shared.contracts.topics import SERVICES, service_topics
from telemachus.shared.runtime.broker import ensure_topics
from telemachus.shared.runtime.local_infra import free_port
from telemachus.shared.testing.backends import start_backend
from telemachus.shared.testing.service_process import ServiceProcess

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GOAL_SERVICE_SECONDS = 5.0
GOAL_FRESH_CLONE_SECONDS = 45.0

BARE_JOIN = """
import asyncio, sys
from aiokafka import AIOKafkaConsumer

async def main() -> None:
    consumer = AIOKafkaConsumer(
        sys.argv[2], bootstrap_servers=sys.argv[1], group_id=sys.argv[3],
        session_timeout_ms=6000, heartbeat_interval_ms=2000,
    )
    await consumer.start()
    while not consumer.assignment():
        await asyncio.sleep(0.01)
    await consumer.stop()

asyncio.run(main())
"""


def timed(*command: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def median_of(runs: int, *command: str) -> float:
    return statistics.median(timed(*command) for _ in range(runs))


async def pairing_ready(federation: Federation, institution: str, run: int) -> float:
    """Seconds from exec of `telemachus service pairing` to its readiness."""
    settings = federation.settings(institution, "pairing", free_port())
    # A database of its own each run: the start makes its indexes, as a new pod's.
    # As a pod runs it: ready once HTTP, store and broker answer, its consumers joining
    # meanwhile (the local launcher's own services wait for the joins).
    settings = settings.model_copy(
        update={
            "mongodb_database": f"{settings.mongodb_database}-cold-{run}",
            "join_groups_before_ready": False,
        }
    )
    with tempfile.TemporaryDirectory() as scratch:
        process = ServiceProcess(settings, Path(scratch) / "pairing.log")
        started = time.perf_counter()
        await process.start()
        try:
            await process.ready(within=120)
            return time.perf_counter() - started
        finally:
            await process.stop()


async def service_ready(runs: int) -> tuple[float, float]:
    """(median seconds to pairing's readiness, median seconds of the bare process's join)."""
    readies, bares = [], []
    backend = await asyncio.to_thread(start_backend)
    print(f"backend: {backend.describe()}")
    institution = DEFAULT_INSTITUTIONS[0].id
    try:
        with tempfile.TemporaryDirectory() as trust_dir:
            # Only the settings and the development trust: every service runs "elsewhere",
            # so the measured one is alone in its groups, as a first pod is.
            federation = Federation(
                backend.kafka_bootstrap_servers,
                backend.mongodb_uri,
                institutions=[DEFAULT_INSTITUTIONS[0]],
                database_prefix=f"bench-cold-{os.getpid()}",
                trust_dir=Path(trust_dir),
                elsewhere={(institution, service): 0 for service in SERVICES},
            )
            federation.build()
            # The topics the other services of a running institution have made already.
            topics = [t for s in SERVICES for t in service_topics(institution, s)]
            partitions = federation.settings(institution, "pairing", 0).topic_partitions
            await ensure_topics(backend.kafka_bootstrap_servers, topics, partitions)
            for run in range(runs):
                readies.append(await pairing_ready(federation, institution, run))
                topic = f"bench-cold-{run}-{os.getpid()}"
                bares.append(
                    await asyncio.to_thread(
                        timed,
                        sys.executable,
                        "-c",
                        BARE_JOIN,
                        backend.kafka_bootstrap_servers,
                        topic,
                        f"{topic}-group",
                    )
                )
    finally:
        await asyncio.to_thread(backend.stop)
    return statistics.median(readies), statistics.median(bares)


def fresh_clone_demo() -> tuple[float, float]:
    """(seconds of clone + `make demo` install included, seconds of `make demo` here)."""
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    here = timed("make", "demo", env=env)
    with tempfile.TemporaryDirectory() as scratch:
        clone = Path(scratch) / "telemachus"
        started = time.perf_counter()
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        subprocess.run(["make", "demo"], cwd=clone, env=env, check=True, capture_output=True)
        fresh = time.perf_counter() - started
    return fresh, here


def main(runs: int, fresh_clone: bool) -> None:
    interpreter = median_of(runs, sys.executable, "-c", "pass")
    command = median_of(runs, str(BIN / "telemachus"), "--help")
    print(
        f"command       `telemachus --help`      {command:6.2f} s   (interpreter alone: "
        f"{interpreter:.2f} s)"
    )
    ready, bare = asyncio.run(service_ready(runs))
    print(
        f"one service   pairing, exec to ready   {ready:6.2f} s   (a bare process joining "
        f"one group: {bare:.2f} s)"
    )
    verdict = "met" if ready < GOAL_SERVICE_SECONDS else "NOT met"
    print(f"goal: a service ready in < {GOAL_SERVICE_SECONDS:.0f} s: {verdict}")
    figures = [
        Figure(
            "cold start",
            "`telemachus --help`",
            command,
            "s",
            interpreter / command,
            "the interpreter starting alone",
        ),
        Figure(
            "cold start",
            "one service, exec to ready",
            ready,
            "s",
            bare / ready,
            "a bare process joining one consumer group",
        ),
    ]
    if fresh_clone:
        fresh, here = fresh_clone_demo()
        print(
            f"fresh clone   clone + `make demo`      {fresh:6.2f} s   (`make demo` here: "
            f"{here:.2f} s)"
        )
        verdict = "met" if fresh < GOAL_FRESH_CLONE_SECONDS else "NOT met"
        print(
            f"goal: a fresh clone's `make demo`, install included, in < "
            f"{GOAL_FRESH_CLONE_SECONDS:.0f} s: {verdict}"
        )
        figures.append(
            Figure(
                "cold start",
                "fresh clone + make demo",
                fresh,
                "s",
                here / fresh,
                "`make demo` with nothing to install",
            )
        )
    report(*figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-fresh-clone", action="store_true")
    args = parser.parse_args()
    main(args.runs, not args.no_fresh_clone)
