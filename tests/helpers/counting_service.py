"""A minimal service on the shared runtime whose effect is not idempotent by itself.

Every event it handles adds one to a counter in MongoDB, so only the inbox can keep a
redelivered event from counting twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from telemachus.shared.contracts.identity import ProgramPublishedV1
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.consumer import Delivery
from telemachus.shared.runtime.service import ServiceRuntime
from telemachus.shared.runtime.settings import ServiceSettings
from telemachus.shared.runtime.telemetry import ServiceTelemetry
from telemachus.shared.runtime.unit_of_work import MongoUnitOfWork
from telemachus.shared.testing.backends import Backend


class Count(BaseModel):
    key: str


@dataclass
class CountingService:
    settings: ServiceSettings
    topic: str
    poison: str = "poison"  # events with this key always fail
    batch: bool = False  # one transaction per polled batch instead of per event
    attempts: list[str] = field(default_factory=list)
    telemetry: ServiceTelemetry | None = None

    def __post_init__(self) -> None:
        self.runtime = ServiceRuntime(self.settings, self.telemetry)
        runtime = self.runtime

        async def count(cmd: Count, uow: MongoUnitOfWork) -> None:
            self.attempts.append(cmd.key)
            if cmd.key.endswith(self.poison):
                raise RuntimeError(f"cannot handle {cmd.key}")
            await uow.db["counters"].update_one(
                {"_id": cmd.key}, {"$inc": {"n": 1}}, upsert=True, session=uow.session
            )

        self.bus = MessageBus(
            lambda: MongoUnitOfWork(runtime.client, runtime.db, runtime.publication),
            {Count: count},
            runtime.telemetry.tracer,
        )

        async def on_program(event: ProgramPublishedV1, delivery: Delivery) -> None:
            await self.bus.handle(Count(key=event.program_id), inbox=delivery.inbox)

        if self.batch:

            async def on_batch(items: list[tuple[ProgramPublishedV1, Delivery]]) -> None:
                await self.bus.handle_batch([(Count(key=e.program_id), d.inbox) for e, d in items])

            self.subscription = runtime.consumer.subscribe_batch(
                "counting",
                [self.topic],
                {ProgramPublishedV1: on_program},
                on_batch,
                "test consumer (batched)",
            )
        else:
            self.subscription = runtime.consumer.subscribe(
                "counting", [self.topic], {ProgramPublishedV1: on_program}, "test consumer"
            )

    async def count(self, key: str) -> int:
        document = await self.runtime.db["counters"].find_one({"_id": key})
        return int(document["n"]) if document else 0

    def committed(self) -> int:
        return sum(self.subscription.committer.committed.values())


def settings_for(backend: Backend, institution: str, **overrides: object) -> ServiceSettings:
    values: dict[str, object] = {
        "institution": institution,
        "service": "pairing",
        "kafka_bootstrap_servers": backend.kafka_bootstrap_servers,
        "mongodb_uri": backend.mongodb_uri,
        "mongodb_database": f"test-{institution}",
        "handler_backoff_seconds": 0.01,
        # Scripted steps (kill after so many, count redeliveries) start from consumers in
        # their groups, as the local launcher's do.
        "join_groups_before_ready": True,
        **overrides,
    }
    return ServiceSettings.model_validate(values)
