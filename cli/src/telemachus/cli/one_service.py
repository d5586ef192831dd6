"""`telemachus service NAME`: one service, settings from the environment."""

from __future__ import annotations

import argparse

import uvicorn

from telemachus.cli.federation import bootstrap_of
from telemachus.shared.runtime.http import KEEP_ALIVE_SECONDS
from telemachus.shared.runtime.logs import configure_logging
from telemachus.shared.runtime.settings import ServiceSettings


def service(args: argparse.Namespace) -> int:
    """One service, settings from TELEMACHUS_* (how containers and Kubernetes run it)."""
    settings = ServiceSettings(service=args.name)
    configure_logging(settings.log_format, settings.log_level)
    app = bootstrap_of(args.name)(settings, None)
    # Requests still running after this are cancelled: a pod stops within its grace period.
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    return 0
