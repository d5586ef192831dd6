"""The composition root of identity: the one place where its parts are wired together."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from pymongo import ASCENDING, IndexModel

from telemachus.identity.domain import commands
from telemachus.identity.domain.topics import SEED_TOPICS
from telemachus.identity.entrypoints import (
    http,
    invitations,
    kafka,
    notices,
    scim,
    token_exchange,
)
from telemachus.identity.entrypoints import webhooks as webhooks_routes
from telemachus.identity.notifications.composer import MailComposer
from telemachus.identity.notifications.dispatch import DispatchPolicy, MailDispatcher
from telemachus.identity.notifications.recording import (
    Contacts,
    NoticeHandlers,
    SendDigests,
    SendReminders,
)
from telemachus.identity.notifications.smtp import SmtpRelay
from telemachus.identity.service_layer.handlers import IdentityHandlers
from telemachus.identity.service_layer.import_jobs import ImportJobs
from telemachus.identity.service_layer.provisioning import ProvisioningHandlers
from telemachus.identity.service_layer.publishing import PUBLISHED_EVENTS, IdentityPublisher
from telemachus.identity.service_layer.unit_of_work import (
    COHORTS,
    INVITATIONS,
    MAIL_OUTBOX,
    NOTICES,
    PARTICIPANTS,
    RELEASES,
    REMINDERS,
    TOPICS,
    IdentityUnitOfWork,
)
from telemachus.identity.service_layer.views import IdentityViews
from telemachus.identity.webhooks.deliveries import DeliveryPolicy as WebhookPolicy
from telemachus.identity.webhooks.deliveries import WebhookDispatcher
from telemachus.identity.webhooks.deliveries import ensure_indexes as ensure_webhook_indexes
from telemachus.identity.webhooks.http_binding import HttpSender
from telemachus.shared.runtime.auth import principal_dependency
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.service import ServiceRuntime
from telemachus.shared.runtime.settings import ServiceSettings
from telemachus.shared.runtime.telemetry import ServiceTelemetry
from telemachus.shared.security.registry import from_b64url
from telemachus.shared.security.tokens import token_issuer_of

DESCRIPTION = (
    "The home of people and programs: institutions, programs, participants, enrolment with "
    "consent, withdrawal and erasure, contact release. Full personal data never leaves this "
    "service. Every call needs a bearer token from this institution's issuer."
)


def bootstrap(settings: ServiceSettings, telemetry: ServiceTelemetry | None = None) -> FastAPI:
    runtime = ServiceRuntime(settings, telemetry)
    if runtime.trust is None or runtime.keys is None:
        raise RuntimeError(
            "identity needs TELEMACHUS_TRUST_REGISTRY_FILE and TELEMACHUS_KEYS_FILE "
            "(see docs/security.md)"
        )
    publisher = IdentityPublisher.from_key(runtime.keys.pseudonym_key, runtime.trust)
    unit_of_work = runtime.unit_of_work_factory(IdentityUnitOfWork, publisher)

    handlers = IdentityHandlers(settings.institution, runtime.trust)
    provisioning = ProvisioningHandlers(settings.institution)
    notifier = NoticeHandlers(
        settings.institution,
        Contacts(
            settings.coordinator_emails,
            [settings.concern_contact_email] if settings.concern_contact_email else [],
            settings.concern_escalation_emails,
        ),
        mail=settings.smtp_host is not None,
    )
    bus = MessageBus(
        unit_of_work,
        {**handlers.handlers(), **provisioning.handlers(), **notifier.handlers()},
        runtime.telemetry.tracer,
        # A cohort enrols at once after an announcement: those requests share transactions.
        grouped={commands.EnrolParticipant},
        prefetch=IdentityHandlers.prefetches(),
    )
    composer = MailComposer(settings.institution, settings.mail_sender, settings.portal_url)

    async def prepare_store() -> None:
        await runtime.db[PARTICIPANTS].create_indexes(
            [
                IndexModel([("work_email", ASCENDING)], unique=True),
                IndexModel([("subject", ASCENDING)], unique=True),
                IndexModel([("enrolments.program_id", ASCENDING)]),
                IndexModel([("reporting_line", ASCENDING)]),
                # HR systems find people by their id there (SCIM externalId).
                IndexModel([("external_id", ASCENDING)]),
            ]
        )
        await runtime.db[COHORTS].create_index([("display_name", ASCENDING)], unique=True)
        for field in ("participant_ref", "counterpart_ref", "pairing_id"):
            await runtime.db[RELEASES].create_index([(field, ASCENDING)])
        await runtime.db[INVITATIONS].create_indexes(
            [
                # One invitation per person and program, however often a cohort is invited.
                IndexModel([("program_id", ASCENDING), ("participant_id", ASCENDING)], unique=True),
                IndexModel([("participant_id", ASCENDING)]),
                IndexModel([("expires_at", ASCENDING)]),
            ]
        )
        await runtime.db[NOTICES].create_index([("recipient", ASCENDING), ("read_at", ASCENDING)])
        await runtime.db[REMINDERS].create_indexes(
            [
                IndexModel([("done", ASCENDING), ("due_at", ASCENDING)]),
                IndexModel([("groups", ASCENDING)]),
                IndexModel([("to", ASCENDING)]),
            ]
        )
        await runtime.db[MAIL_OUTBOX].create_indexes(
            [
                IndexModel([("status", ASCENDING), ("next_at", ASCENDING)]),
                IndexModel([("claim", ASCENDING)]),
            ]
        )
        for topic in SEED_TOPICS:
            await runtime.db[TOPICS].update_one(
                {"_id": topic.id}, {"$setOnInsert": {"title": topic.title}}, upsert=True
            )

    runtime.on_startup(prepare_store)

    async def purge_expired() -> None:
        await bus.handle(commands.PurgeExpiredInvitations())

    # An expired invitation leaves nothing behind.
    runtime.periodic.every(settings.sweep_seconds, "purge expired invitations", purge_expired)

    async def remind() -> None:
        await bus.handle(SendReminders())
        await bus.handle(SendDigests())

    runtime.periodic.every(settings.sweep_seconds, "send due reminders", remind)
    if settings.smtp_host is not None:
        dispatcher = MailDispatcher(
            runtime.db,
            SmtpRelay(settings),
            composer,
            DispatchPolicy(
                connections=settings.mail_connections,
                attempts=settings.mail_attempts,
                backoff_seconds=settings.mail_backoff_seconds,
                claim_seconds=settings.mail_claim_seconds,
                poll_seconds=settings.mail_poll_seconds,
            ),
            runtime.telemetry.metrics,
        )

        async def start_dispatcher() -> None:
            dispatcher.start()

        runtime.on_startup(start_dispatcher)
        runtime.on_stop(dispatcher.stop)
    kafka.subscribe(runtime, bus)
    kafka.subscribe_notices(runtime, bus)
    kafka.subscribe_webhooks(runtime)
    webhook_client = httpx.AsyncClient(timeout=settings.webhook_timeout_seconds)
    webhooks = WebhookDispatcher(
        runtime.db,
        HttpSender(webhook_client, loopback_http=settings.webhook_loopback_http),
        WebhookPolicy(
            attempts=settings.webhook_attempts,
            backoff_seconds=settings.webhook_backoff_seconds,
            max_backoff_seconds=settings.webhook_max_backoff_seconds,
        ),
    )

    async def start_webhooks() -> None:
        await ensure_webhook_indexes(runtime.db)
        webhooks.start()

    async def stop_webhooks() -> None:
        await webhooks.stop()
        await webhook_client.aclose()

    runtime.on_startup(start_webhooks)
    runtime.on_stop(stop_webhooks)
    runtime.document_publications(PUBLISHED_EVENTS)
    views = IdentityViews(runtime.db)
    verifier = runtime.token_verifier()
    authenticate = principal_dependency(verifier)
    jobs = ImportJobs(runtime.db, bus, views)
    runtime.on_startup(jobs.mark_interrupted)
    runtime.on_stop(jobs.stop)
    routers = [
        http.identity_router(bus, views, settings.institution, runtime.trust, authenticate, jobs),
        invitations.invitations_router(bus, views, settings.institution, authenticate),
        scim.scim_router(bus, views, settings.institution, verifier),
        notices.notices_router(
            bus, runtime.db, views, composer, settings.institution, authenticate
        ),
        webhooks_routes.webhooks_router(
            runtime.db,
            settings.institution,
            authenticate,
            loopback_http=settings.webhook_loopback_http,
        ),
    ]
    record = runtime.trust.get(settings.institution)
    if verifier.own_idp is not None and record is not None:
        routers.append(
            token_exchange.token_exchange_router(
                settings.institution,
                runtime.trust,
                verifier.own_idp,
                token_issuer_of(runtime.keys, record.token_issuer),
                from_b64url(runtime.keys.pseudonym_key or ""),
                views.participant_signed_in_as,
            )
        )
    app = runtime.create_app(
        "Telemachus identity",
        DESCRIPTION,
        routers,
        larger_bodies={"/participants/import": http.IMPORT_MAX_BYTES},
    )
    app.state.bus = bus  # for tools and tests that drive use cases without HTTP
    return app
