"""The ASGI factory every service's app.py calls: settings from the environment, logs set."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from telemachus.shared.contracts.topics import ServiceName
from telemachus.shared.runtime.logs import configure_logging
from telemachus.shared.runtime.settings import ServiceSettings

Bootstrap = Callable[[ServiceSettings], FastAPI]


def service_app(service: ServiceName, bootstrap: Bootstrap) -> FastAPI:
    settings = ServiceSettings(service=service)  # the rest from TELEMACHUS_* variables
    configure_logging(settings.log_format, settings.log_level)
    return bootstrap(settings)
