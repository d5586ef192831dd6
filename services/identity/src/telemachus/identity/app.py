"""ASGI entry: `uvicorn --factory telemachus.identity.app:create_app`, settings from env."""

from __future__ import annotations

from fastapi import FastAPI

from telemachus.identity.bootstrap import bootstrap
from telemachus.shared.runtime.asgi import service_app


def create_app() -> FastAPI:
    return service_app("identity", bootstrap)
