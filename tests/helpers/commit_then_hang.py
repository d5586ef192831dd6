"""Commit a program (state + outbox row) through identity's bus, then hang until killed.

No relay runs here, so the event is in MongoDB and not yet on Kafka when the test kills
this process: exactly the crash the outbox exists for.
usage: commit_then_hang.py KAFKA MONGODB_URI INSTITUTION DATABASE REGISTRY KEYS
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import date, timedelta

from telemachus.identity.bootstrap import bootstrap
from telemachus.identity.domain.commands import PublishProgram
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.service import ServiceRuntime
from telemachus.shared.runtime.settings import ServiceSettings


async def commit(settings: ServiceSettings) -> str:
    app = bootstrap(settings)  # never started: no relay, no consumers
    runtime: ServiceRuntime = app.state.runtime
    await runtime.prepare()  # topics, indexes, the topic catalogue
    bus: MessageBus = app.state.bus
    today = date.today()
    program = await bus.handle(
        PublishProgram(
            title="Crash-safe program",
            topics=["e-medicine"],
            enrolment_opens=today,
            enrolment_closes=today + timedelta(days=10),
        )
    )
    return str(program.id)


if __name__ == "__main__":
    kafka, mongo, institution, database, registry, keys = sys.argv[1:7]
    settings = ServiceSettings(
        institution=institution,
        service="identity",
        kafka_bootstrap_servers=kafka,
        mongodb_uri=mongo,
        mongodb_database=database,
        trust_registry_file=registry,
        keys_file=keys,
    )
    print(asyncio.run(commit(settings)), flush=True)
    time.sleep(3600)
