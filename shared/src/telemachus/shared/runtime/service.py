"""What every service is made of, wired once: store, broker, outbox relay, consumers, HTTP.

A service's composition root (its bootstrap.py) creates a ServiceRuntime, adds its own
indexes, subscriptions and routes, and asks for the FastAPI app. Nothing here does I/O
until the app's lifespan starts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.topics import event_source, event_topic, service_topics
from telemachus.shared.runtime.auth import BearerVerifier, principal_dependency
from telemachus.shared.runtime.broker import (
    KafkaBrokerLog,
    PartitionReader,
    connect_broker,
    create_broker,
    join_groups,
    kafka_sender,
    wait_for_topics,
)
from telemachus.shared.runtime.broker_watch import BrokerWatch
from telemachus.shared.runtime.consumer import ConsumerStalled, DeliveryPolicy, EventConsumer
from telemachus.shared.runtime.dead_letter import DeadLetterPublisher
from telemachus.shared.runtime.dead_letter_archive import REPLAYS_COLLECTION, DeadLetterArchive
from telemachus.shared.runtime.dead_letter_routes import dead_letter_router
from telemachus.shared.runtime.http import (
    BindTelemetry,
    BodySizeLimit,
    asyncapi_router,
    health_router,
    install_error_handlers,
    metrics_router,
)
from telemachus.shared.runtime.kafka_security import client_options
from telemachus.shared.runtime.lease import LEASES_COLLECTION, Lease, replica_id
from telemachus.shared.runtime.logs import throttle_repeated_logs
from telemachus.shared.runtime.lost_records import LostRecords
from telemachus.shared.runtime.openapi import documented, operation_id
from telemachus.shared.runtime.outbox import (
    OUTBOX_COLLECTION,
    OutboxRelay,
    Publication,
    ensure_outbox_indexes,
)
from telemachus.shared.runtime.periodic import PeriodicJobs
from telemachus.shared.runtime.prometheus import exposition
from telemachus.shared.runtime.replays import POSITIONS_COLLECTION, FirstSeen
from telemachus.shared.runtime.settings import ServiceSettings
from telemachus.shared.runtime.store import create_mongo_client, ping
from telemachus.shared.runtime.telemetry import ServiceTelemetry
from telemachus.shared.runtime.unit_of_work import EventMapper, MongoUnitOfWork
from telemachus.shared.security.keys import InstitutionKeys
from telemachus.shared.security.oidc import ClaimMapping, OidcVerifier, ProviderKeys
from telemachus.shared.security.registry import TrustRegistry
from telemachus.shared.security.signing import EventSigner, EventVerifier
from telemachus.shared.security.tokens import TokenVerifier, audience_of

log = logging.getLogger(__name__)
StartupHook = Callable[[], Awaitable[None]]
W = TypeVar("W", bound=MongoUnitOfWork)
MAX_REQUEST_BYTES = 1024 * 1024


STOP_STEP_SECONDS = 10.0


async def _bounded(what: str, step: Awaitable[None]) -> None:
    try:
        await asyncio.wait_for(step, STOP_STEP_SECONDS)
    except TimeoutError:
        log.error("%s did not stop within %.0fs; stopping anyway", what, STOP_STEP_SECONDS)


async def _settled(task: asyncio.Task[None]) -> None:
    await asyncio.wait([task])


def _report_failed_join(joining: asyncio.Task[None]) -> None:
    if not joining.cancelled() and (error := joining.exception()) is not None:
        # Readiness fails from now on (consumers), so the pod is taken out and looked at.
        log.error("the consumers could not join their groups: %r", error)


class ServiceRuntime:
    def __init__(
        self, settings: ServiceSettings, telemetry: ServiceTelemetry | None = None
    ) -> None:
        self.settings = settings
        self.telemetry = telemetry or ServiceTelemetry.create(settings)
        name = f"telemachus-{settings.institution}-{settings.service}"
        self.client = create_mongo_client(
            settings.mongodb_uri, app_name=name, credentials=settings.mongodb_credentials()
        )
        self.db = self.client[settings.database_name]
        self.broker = create_broker(settings, self.telemetry)
        self.trust = (
            TrustRegistry.load(settings.trust_registry_file)
            if settings.trust_registry_file
            else None
        )
        self.keys = InstitutionKeys.load(settings.keys_file) if settings.keys_file else None
        signing_key = self.keys.signing_key if self.keys else None
        self.publication = Publication(
            topic=event_topic(settings.institution, settings.service),
            source=event_source(settings.institution, settings.service),
            signer=EventSigner(signing_key) if signing_key else None,
        )
        self.partition_reader = PartitionReader(
            settings.kafka_bootstrap_servers, client_options(settings)
        )
        own_topics = service_topics(settings.institution, settings.service)
        self.broker_log = KafkaBrokerLog(
            self.partition_reader,
            settings.kafka_bootstrap_servers,
            own_topics,
            settings.topic_partitions,
            client_options(settings),
        )
        self.relay = OutboxRelay(
            self.db[OUTBOX_COLLECTION],
            kafka_sender(self.broker),
            poll_seconds=settings.outbox_poll_seconds,
            batch_size=settings.outbox_batch_size,
            lease=Lease(
                self.db[LEASES_COLLECTION],
                "outbox-relay",
                replica_id(),
                settings.outbox_lease_seconds,
            ),
            metrics=self.telemetry.metrics,
            lost=LostRecords(
                self.db[OUTBOX_COLLECTION],
                self.broker_log,
                check_seconds=settings.outbox_log_check_seconds,
                # Bound late: the watch is made below, and this runs only once started.
                on_loss=lambda: self.broker_watch.recover("it lost records of our topic"),
            ),
        )
        self.dead_letters = DeadLetterPublisher(
            own_topics[1],
            settings.consumer_group,
            self._publish_raw,
            self.telemetry.metrics,
        )
        self.consumer = EventConsumer(
            self.broker,
            settings.consumer_group,
            self.dead_letters,
            DeliveryPolicy(
                attempts=settings.handler_attempts,
                backoff_seconds=settings.handler_backoff_seconds,
                commit_seconds=settings.offset_commit_seconds,
                commit_every=settings.offset_commit_every,
                fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
                session_timeout_ms=settings.kafka_session_timeout_ms,
            ),
            verifier=EventVerifier(self.trust) if self.trust else None,
            first_seen=FirstSeen(self.db[POSITIONS_COLLECTION]),
            metrics=self.telemetry.metrics,
        )
        if self.trust is None:
            log.warning("no trust registry: events are consumed without checking signatures")
        self._stop_hooks: list[StartupHook] = []
        self._startup_hooks: list[StartupHook] = [
            lambda: ensure_outbox_indexes(
                self.db[OUTBOX_COLLECTION], settings.outbox_retention_seconds
            )
        ]
        self.periodic = PeriodicJobs()
        self.broker_watch = BrokerWatch(
            self.partition_reader.topic_names,
            self.dead_letters.topic,
            self.broker_log.recreate_topics,
            self.consumer.restart,
        )
        self.periodic.every(
            settings.outbox_log_check_seconds, "broker watch", self.broker_watch.check
        )
        self.started = False
        self._prepared = False
        self._joining: asyncio.Task[None] | None = None  # the consumers joining their groups

    def token_verifier(self) -> BearerVerifier:
        """Bearer tokens for this institution's audience: its own IdP's, and those any
        member's identity service issued."""
        if self.trust is None:
            raise RuntimeError(
                f"{self.settings.service} needs TELEMACHUS_TRUST_REGISTRY_FILE to check tokens"
            )
        settings = self.settings
        record = self.trust.get(settings.institution)
        if record is None:
            raise RuntimeError(f"{settings.institution} is not in the trust registry")
        max_lifetime = timedelta(seconds=settings.token_max_lifetime_seconds)
        own_idp = None
        if record.oidc_issuer is not None:
            own_idp = OidcVerifier(
                settings.institution,
                ProviderKeys(
                    record.oidc_issuer,
                    refresh_seconds=settings.oidc_jwks_refresh_seconds,
                    max_stale_seconds=settings.oidc_jwks_max_stale_seconds,
                ),
                ClaimMapping(
                    audience=settings.oidc_audience or audience_of(settings.institution),
                    subject_claim=settings.oidc_subject_claim,
                    roles_claim=settings.oidc_roles_claim,
                    role_map=ClaimMapping.parse_role_map(settings.oidc_role_map),
                ),
                max_lifetime=max_lifetime,
            )
        exchanged = TokenVerifier(
            self.trust, audience_of(settings.institution), max_lifetime=max_lifetime
        )
        return BearerVerifier(exchanged, own_idp)

    async def _publish_raw(
        self, payload: bytes, topic: str, key: bytes | None, headers: dict[str, str]
    ) -> Any:
        return await self.broker.publish(payload, topic, key=key, headers=headers)

    def on_stop(self, hook: StartupHook) -> None:
        """Run first on stop (e.g. cancel a service's own background work), bounded."""
        self._stop_hooks.append(hook)

    def on_startup(self, hook: StartupHook) -> None:
        """Run after the store is reachable and before consumers start (e.g. indexes)."""
        self._startup_hooks.append(hook)

    def document_publications(self, events: Sequence[type[IntegrationEvent]]) -> None:
        """Describe what this service publishes in its AsyncAPI document (event catalog)."""
        for event in events:
            self.broker.publisher(
                self.publication.topic,
                title=f"{self.publication.topic}:{event.event_type}",
                description=(event.__doc__ or "").strip(),
                schema=event,
            )

    @property
    def consumed_topics(self) -> list[str]:
        return sorted({t for s in self.consumer.subscriptions for t in s.topics})

    async def prepare(self) -> None:
        """Topics and indexes: what must exist before anything is produced or consumed.
        Once per process (a launcher may prepare every service before starting any)."""
        if self._prepared:
            return
        await self.broker_log.recreate_topics()
        for hook in self._startup_hooks:
            await hook()
        self._prepared = True

    async def start(self) -> None:
        self.telemetry.bind()
        # The Kafka client's loggers exist once it is imported; the outage of a broker is
        # then told once per interval, not per retry.
        throttle_repeated_logs()
        await self.prepare()
        await wait_for_topics(
            self.settings.kafka_bootstrap_servers,
            self.consumed_topics,
            self.settings.wait_for_topics_seconds,
            client_options(self.settings),
        )
        await connect_broker(self.broker)
        self._joining = asyncio.create_task(join_groups(self.broker), name="joining groups")
        self._joining.add_done_callback(_report_failed_join)
        if self.settings.join_groups_before_ready:
            await asyncio.shield(self._joining)
        self.relay.start()
        self.consumer.start()
        self.periodic.start()
        self.started = True
        log.info("%s of %s started", self.settings.service, self.settings.institution)

    async def stop(self) -> None:
        """Stops within a bounded time whatever the broker or store is doing: each step
        gets STOP_STEP_SECONDS, then the service goes on stopping (what was not committed
        comes again after the restart; the inbox makes that harmless)."""
        self.started = False
        for hook in self._stop_hooks:
            await _bounded("the service's own work", hook())
        await _bounded("the periodic jobs", self.periodic.stop())
        if self._joining is not None and not self._joining.done():
            # Stopped before its consumers were in their groups: nothing was read yet.
            self._joining.cancel()
            await _bounded("the group joins", _settled(self._joining))
        # Commit handled offsets while the consumers are still members of their groups.
        await _bounded("the consumers", self.consumer.stop())
        await _bounded("the outbox relay", self.relay.stop())
        await _bounded("the Kafka clients", self.broker.stop())
        await _bounded("the partition reader", self.partition_reader.close())
        await _bounded("the MongoDB client", self.client.close())
        self.telemetry.provider.force_flush()

    def create_app(
        self,
        title: str,
        description: str,
        routers: Sequence[APIRouter],
        larger_bodies: Mapping[str, int] | None = None,
    ) -> FastAPI:
        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            await self.start()
            try:
                yield
            finally:
                await self.stop()

        # Swagger UI from the package's own copy: no CDN (hospital networks are often
        # offline). Not ReDoc: its page fetches its logo from redoc.ly.
        app = FastAPIOffline(
            redoc_url=None,
            title=f"{title} ({self.settings.institution})",
            description=description,
            version="0.1.0",
            lifespan=lifespan,
            generate_unique_id_function=operation_id,
        )
        app.include_router(
            health_router(
                {
                    "mongodb": lambda: ping(self.client),
                    "kafka": self._kafka_ready,
                    "consumers": self._consumers_progressing,
                },
                lambda: self.started,
            )
        )
        app.include_router(metrics_router(lambda: exposition(self.telemetry.scrape)))
        for router in routers:
            app.include_router(router)
        if self.trust is not None:  # operators sign in like everyone else
            app.include_router(
                dead_letter_router(
                    DeadLetterArchive(
                        self.dead_letters.topic,
                        self.partition_reader,
                        self.db[REPLAYS_COLLECTION],
                    ),
                    self.consumer,
                    self.settings.institution,
                    principal_dependency(self.token_verifier()),
                )
            )
        server = self.settings.kafka_bootstrap_servers.split(",")[0].strip()
        app.include_router(asyncapi_router(self.broker, app.title, description, server))
        install_error_handlers(app)
        app.openapi = documented(app)  # type: ignore[method-assign]
        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=self.telemetry.provider, excluded_urls="health/.*"
        )
        app.add_middleware(BindTelemetry, telemetry=self.telemetry)
        app.add_middleware(BodySizeLimit, max_bytes=MAX_REQUEST_BYTES, larger=larger_bodies)
        app.state.runtime = self
        return app

    def unit_of_work_factory(
        self, uow_class: type[W], event_mapper: EventMapper
    ) -> Callable[[], W]:
        """A fresh unit of work per request or message, wired to this service's outbox."""

        def unit_of_work() -> W:
            return uow_class(self.client, self.db, self.publication, self.relay.nudge, event_mapper)

        return unit_of_work

    async def _consumers_progressing(self) -> None:
        joining = self._joining
        if joining is not None and joining.done() and not joining.cancelled():
            error = joining.exception()
            if error is not None:
                raise ConsumerStalled(f"could not join the consumer groups: {error!r}")
        stalled = self.consumer.stalled()
        if stalled:
            raise ConsumerStalled("; ".join(f"{n}: {why}" for n, why in stalled.items()))

    async def _kafka_ready(self) -> None:
        if not await self.broker.ping(timeout=2.0):
            raise ConnectionError("broker does not answer")
