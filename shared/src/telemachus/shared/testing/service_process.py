"""One service as a process of its own (`telemachus service`, as containers run it): for the
fault tests that kill it with SIGKILL and start it again, and the cold-start benchmark."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import IO

import httpx
from pydantic import SecretStr

from telemachus.shared.runtime.settings import ENV_PREFIX, ServiceSettings


def settings_env(settings: ServiceSettings) -> dict[str, str]:
    """The TELEMACHUS_* variables that give a process these settings."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump(exclude_none=True).items():
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[f"{ENV_PREFIX}{name.upper()}"] = str(value)
    return env


class ServiceProcess:
    def __init__(self, settings: ServiceSettings, log: Path) -> None:
        self.settings = settings
        self.url = f"http://{settings.http_host}:{settings.http_port}"
        self._log = log
        self._process: asyncio.subprocess.Process | None = None
        self._log_file: IO[bytes] | None = None
        self.kills = 0

    async def start(self) -> None:
        self._log_file = self._log.open("ab")
        self._process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "telemachus"),
            "service",
            self.settings.service,
            env={**os.environ, **settings_env(self.settings)},
            stdout=self._log_file,
            stderr=self._log_file,
        )

    async def ready(self, within: float = 90.0) -> None:
        deadline = asyncio.get_running_loop().time() + within
        async with httpx.AsyncClient(timeout=2) as client:
            while asyncio.get_running_loop().time() < deadline:
                if self._process is not None and self._process.returncode is not None:
                    raise RuntimeError(f"{self.settings.service} exited: see {self._log}")
                try:
                    if (await client.get(f"{self.url}/health/ready")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"{self.settings.service} not ready within {within}s: see {self._log}")

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs, open transactions stay open in the store."""
        if self._process is not None and self._process.returncode is None:
            self._process.send_signal(signal.SIGKILL)
            await self._process.wait()
            self.kills += 1
        self._close_log()

    async def stop(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            try:
                await asyncio.wait_for(self._process.wait(), 30)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
