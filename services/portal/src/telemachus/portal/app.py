"""ASGI entry: `uvicorn --factory telemachus.portal.app:create_app`, settings from env."""

from __future__ import annotations

from fastapi import FastAPI

from telemachus.portal.bootstrap import bootstrap
from telemachus.portal.settings import PortalSettings
from telemachus.shared.runtime.logs import configure_logging


def create_app() -> FastAPI:
    settings = PortalSettings()  # from TELEMACHUS_* variables
    configure_logging(settings.log_format, settings.log_level)
    return bootstrap(settings)
