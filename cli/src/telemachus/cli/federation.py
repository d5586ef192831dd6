"""A federation of institutions, four services each, in one process on the given broker/store.

Used by `telemachus up`, `telemachus demo` and the cross-service tests. Each service is
its own FastAPI app with its own database, consumer groups and HTTP port, exactly as it
runs alone; only the process is shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SpanExporter

from telemachus.cli.dev_idp import (
    PORTAL_CLIENT,
    REDIRECT_URI,
    ROLE_GROUPS,
    Account,
    DevelopmentIdp,
)
from telemachus.cli.sign_in import exchange, sign_in
from telemachus.portal.settings import PortalSettings
from telemachus.shared.contracts.topics import SERVICES, ServiceName, service_topics
from telemachus.shared.contracts.vocabulary import InstitutionKind
from telemachus.shared.runtime.broker import ensure_topics
from telemachus.shared.runtime.http import KEEP_ALIVE_SECONDS
from telemachus.shared.runtime.local_infra import free_port
from telemachus.shared.runtime.service import ServiceRuntime
from telemachus.shared.runtime.settings import ServiceSettings, TelemetryExporter
from telemachus.shared.runtime.telemetry import ServiceTelemetry
from telemachus.shared.security.keys import (
    InstitutionKeys,
    load_or_create_development_trust,
)
from telemachus.shared.security.signing import EventSigner
from telemachus.shared.security.tokens import (
    Role,
    TokenIssuer,
    audience_of,
    token_issuer_of,
)

Bootstrap = Callable[[ServiceSettings, ServiceTelemetry | None], FastAPI]


def bootstrap_of(service: ServiceName) -> Bootstrap:
    """The service's composition root, imported only when that service is built: a process
    running one service does not import the other three."""
    module = importlib.import_module(f"telemachus.{service}.bootstrap")
    built: Bootstrap = module.bootstrap
    return built


def import_services() -> None:
    """Import every service's composition root and the portal's: most of a launcher's
    start-up, which it can do while its broker and store start."""
    for service in SERVICES:
        bootstrap_of(service)
    importlib.import_module("telemachus.portal.bootstrap")


@dataclass(frozen=True)
class Institution:
    id: str
    name: str
    kind: InstitutionKind


DEFAULT_INSTITUTIONS = (
    Institution("st-marys-hospital", "St Mary's Hospital", InstitutionKind.HOSPITAL),
    Institution("northgate-university", "Northgate University", InstitutionKind.UNIVERSITY),
    Institution(
        "harbour-research-centre", "Harbour Research Centre", InstitutionKind.RESEARCH_CENTRE
    ),
)


# How long a stopping server waits for requests in flight before cancelling them: a
# request stuck on a store or client that never answers must not hold the stop forever.
STOP_GRACE_SECONDS = 5


class EmbeddedServer(uvicorn.Server):
    """Several servers share one loop; the federation, not each server, handles signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(server: EmbeddedServer) -> None:
    """uvicorn exits the process (SystemExit) when it cannot bind or start; in a task that
    would end the whole loop before the federation could stop what it started (its IdPs
    were left running), so it becomes an ordinary failure of this server's task."""
    try:
        await server.serve()
    except SystemExit as exited:
        where = f"{server.config.host}:{server.config.port}"
        raise RuntimeError(f"the server on {where} could not start ({exited.code})") from None


def embedded_server(app: FastAPI, host: str, port: int) -> EmbeddedServer:
    return EmbeddedServer(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="on",
            access_log=False,
            timeout_graceful_shutdown=STOP_GRACE_SECONDS,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
    )


@dataclass
class RunningService:
    institution: str
    service: ServiceName
    app: FastAPI
    server: EmbeddedServer
    task: asyncio.Task[None] | None = None

    @property
    def runtime(self) -> ServiceRuntime:
        runtime: ServiceRuntime = self.app.state.runtime
        return runtime

    @property
    def url(self) -> str:
        sockets = self.server.servers[0].sockets
        host, port = sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"


@dataclass
class RunningPortal:
    institution: str
    app: FastAPI
    server: EmbeddedServer
    port: int
    task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


# Development: integrators' test receivers run on this machine, over HTTP; one that comes
# back is tried again within a second, for about 28 s (12 tries, 11 s, ran out on a loaded
# machine while a test's receiver was down: a delivery was dead-lettered).
DEVELOPMENT_WEBHOOKS: dict[str, Any] = {
    "webhook_loopback_http": True,
    "webhook_attempts": 30,
    "webhook_backoff_seconds": 0.25,
    "webhook_max_backoff_seconds": 1.0,
}


@dataclass
class Federation:
    kafka_bootstrap_servers: str
    mongodb_uri: str
    institutions: Sequence[Institution] = DEFAULT_INSTITUTIONS
    host: str = "127.0.0.1"
    base_port: int = 0  # 0: any free port; else consecutive ports from here
    telemetry_exporter: TelemetryExporter = "none"
    telemetry_file: Path = Path(".telemachus/traces.jsonl")
    extra_exporters: Sequence[SpanExporter] = ()
    database_prefix: str = "telemachus"
    # Development trust registry and keys (written here, reused while they fit).
    trust_dir: Path = Path(".telemachus/trust")
    # Tansu ends a waiting fetch when it next looks, not when data arrives: it looks at
    # growing intervals, so a record waits up to about a third of this (measured: <= 35 ms
    # at 100 ms). Shorter costs CPU: a federation's 36 consumers idle at 25 ms took 1.7 of
    # this machine's 2 cores (Tansu 0.97, the services 0.7), at 100 ms 1.0.
    fetch_max_wait_ms: int = 100
    # Kafka's smallest default session: a group's first join on Tansu waits half of it.
    session_timeout_ms: int = 6_000
    services: dict[tuple[str, str], RunningService] = field(default_factory=dict)
    # Services that run as processes of their own, on these ports (the fault tests kill
    # them): not built here; `settings` gives what they need.
    elsewhere: Mapping[tuple[str, ServiceName], int] = field(default_factory=dict)
    registry_file: Path | None = None
    key_files: dict[str, Path] = field(default_factory=dict)
    # A development OpenID Connect provider per institution (node-oidc-provider), named
    # in the trust registry: people sign in there, as at their institution's own IdP.
    identity_providers: bool = False
    idps: dict[str, DevelopmentIdp] = field(default_factory=dict)
    # Each institution's web portal (with the IdPs: people sign in there).
    portals: dict[str, RunningPortal] = field(default_factory=dict)
    # Where every service listens, once it does: the portals call them there.
    directory: dict[tuple[str, str], str] = field(default_factory=dict)
    # An SMTP relay (host, port) for identity's notifier, without TLS (a local catcher):
    # each institution mails as programs@<institution>.example and tells its coordinators
    # and safeguarding contacts at coordinators@, safeguarding@ (a concern raised by its
    # people) and safeguarding-lead@ (one left unanswered) of the same domain.
    mail_relay: tuple[str, int] | None = None
    portal_ports: dict[str, int] = field(default_factory=dict)
    _issuers: dict[str, TokenIssuer] = field(default_factory=dict, repr=False)
    _signed_in: dict[tuple[object, ...], tuple[str, float]] = field(
        default_factory=dict, repr=False
    )

    def settings(self, institution: str, service: ServiceName, port: int) -> ServiceSettings:
        return ServiceSettings(
            institution=institution,
            service=service,
            federation=[i.id for i in self.institutions],
            kafka_bootstrap_servers=self.kafka_bootstrap_servers,
            mongodb_uri=self.mongodb_uri,
            mongodb_database=f"{self.database_prefix}-{institution}-{service}",
            http_host=self.host,
            http_port=port,
            telemetry_exporter=self.telemetry_exporter,
            telemetry_file=self.telemetry_file,
            outbox_poll_seconds=0.5,
            kafka_fetch_max_wait_ms=self.fetch_max_wait_ms,
            kafka_session_timeout_ms=self.session_timeout_ms,
            join_groups_before_ready=True,
            trust_registry_file=self.registry_file,
            keys_file=self.key_files[institution],
            oidc_role_map=",".join(f"{group}={role}" for role, group in ROLE_GROUPS.items()),
            **DEVELOPMENT_WEBHOOKS,
            **self._mail_settings(institution),
        )

    def _mail_settings(self, institution: str) -> dict[str, Any]:
        portal = self.portal_ports.get(institution)
        settings: dict[str, Any] = {"portal_url": f"http://127.0.0.1:{portal}"} if portal else {}
        if self.mail_relay is None:
            return settings
        domain = f"{institution}.example"
        return {
            **settings,
            "smtp_host": self.mail_relay[0],
            "smtp_port": self.mail_relay[1],
            "smtp_security": "none",
            "mail_from": f"programs@{domain}",
            "coordinator_emails": [f"coordinators@{domain}"],
            "concern_contact_email": f"safeguarding@{domain}",
            "concern_escalation_emails": [f"safeguarding-lead@{domain}"],
            "mail_poll_seconds": 1.0,
            "mail_backoff_seconds": 2.0,
        }

    def build(self) -> None:
        """Create every app (no I/O but the development keys and IdPs). If anything fails,
        the IdPs started so far are stopped: nothing is left running."""
        try:
            self._build()
        except BaseException:
            self.stop_idps()
            raise

    def _build(self) -> None:
        # Portals listen after the services: consecutive ports from base_port, or free ones.
        after = self.base_port + len(self.institutions) * len(SERVICES)
        portal_ports = self.portal_ports = {
            i.id: (after + index if self.base_port else free_port())
            for index, i in enumerate(self.institutions)
        }
        launched: list[DevelopmentIdp] = []
        if self.identity_providers and not self.idps:
            for institution in self.institutions:
                idp = DevelopmentIdp(
                    institution.id,
                    self.trust_dir / "idp",
                    audience_of(institution.id),
                    redirect_uris=[
                        REDIRECT_URI,
                        f"http://127.0.0.1:{portal_ports[institution.id]}/callback",
                    ],
                )
                self.idps[institution.id] = idp
                idp.launch()  # ready or not is awaited once the apps are built
                launched.append(idp)
        self.registry_file, self.key_files = load_or_create_development_trust(
            self.trust_dir,
            [(i.id, i.name, i.kind) for i in self.institutions],
            {i: idp.issuer for i, idp in self.idps.items()},
        )
        port = self.base_port
        for institution in self.institutions:
            for service in SERVICES:
                if (institution.id, service) in self.elsewhere:
                    port = port + 1 if port else 0
                    continue
                settings = self.settings(institution.id, service, port)
                telemetry = ServiceTelemetry.create(settings, self.extra_exporters)
                app = bootstrap_of(service)(settings, telemetry)
                self.services[(institution.id, service)] = RunningService(
                    institution.id, service, app, embedded_server(app, self.host, port)
                )
                port = port + 1 if port else 0
        if self.identity_providers:
            for institution in self.institutions:
                self._build_portal(institution.id, portal_ports[institution.id])
        for idp in launched:
            idp.wait_ready()

    def _build_portal(self, institution: str, port: int) -> None:
        settings = PortalSettings(
            institution=institution,
            portal_url=f"http://127.0.0.1:{port}",
            http_host=self.host,
            http_port=port,
            mongodb_uri=self.mongodb_uri,
            mongodb_database=f"{self.database_prefix}-{institution}-portal",
            trust_registry_file=self.registry_file,
            oidc_role_map=",".join(f"{group}={role}" for role, group in ROLE_GROUPS.items()),
            **DEVELOPMENT_WEBHOOKS,
            telemetry_exporter=self.telemetry_exporter,
            telemetry_file=self.telemetry_file,
        )
        telemetry = ServiceTelemetry.create(settings, self.extra_exporters)
        from telemachus.portal.bootstrap import bootstrap as portal_bootstrap

        app = portal_bootstrap(settings, telemetry, self.directory)
        server = embedded_server(app, self.host, port)
        self.portals[institution] = RunningPortal(institution, app, server, port)

    def stop_idps(self) -> None:
        for idp in self.idps.values():
            idp.stop()

    async def start(self, progress: Callable[[str], None] = lambda _: None) -> None:
        if not self.services:
            idps = " and starting each institution's development IdP" * self.identity_providers
            progress(f"building the services{idps}")
            self.build()
        try:
            await self._start(progress)
        except BaseException:
            await self.stop()  # what started, IdPs included: nothing is left running
            raise

    async def _topics_of_elsewhere(self) -> None:
        """The topics of the services run elsewhere (their processes start after these):
        each would make its own, but ours would first wait for them, up to
        `wait_for_topics_seconds` (30 s), before consuming anyway."""
        if not self.elsewhere:
            return
        partitions = ServiceSettings.model_fields["topic_partitions"].default
        topics = [t for i, s in self.elsewhere for t in service_topics(i, s)]
        await ensure_topics(self.kafka_bootstrap_servers, topics, partitions)

    async def _start(self, progress: Callable[[str], None]) -> None:
        # Every service creates its own topics first, so no consumer waits for another's.
        progress("creating each service's topics and indexes")
        await asyncio.gather(
            *(s.runtime.prepare() for s in self.services.values()), self._topics_of_elsewhere()
        )
        progress(f"starting {len(self.services)} services (consumers join their groups)")
        for running in self.services.values():
            running.task = asyncio.create_task(
                serve(running.server), name=f"{running.institution}/{running.service}"
            )
        reported, last_report = 0, asyncio.get_running_loop().time()
        while (ready := sum(s.server.started for s in self.services.values())) < len(self.services):
            failed = [s for s in self.services.values() if s.task and s.task.done()]
            if failed:
                names = ", ".join(f"{s.institution}/{s.service}" for s in failed)
                raise RuntimeError(f"service(s) failed to start: {names}")
            now = asyncio.get_running_loop().time()
            if ready != reported or now - last_report > 1.0:
                waiting = [
                    f"{i}/{n}" for (i, n), s in self.services.items() if not s.server.started
                ]
                shown = ", ".join(waiting[:4]) + (
                    f" and {len(waiting) - 4} more" if len(waiting) > 4 else ""
                )
                progress(
                    f"  {ready}/{len(self.services)} ready; waiting for {shown} "
                    "(their consumers joining their groups)"
                )
                reported, last_report = ready, now
            await asyncio.sleep(0.05)
        progress(f"  {len(self.services)}/{len(self.services)} services ready")
        for (institution, service), running in self.services.items():
            self.directory[(institution, service)] = running.url
        for (institution, service), port in self.elsewhere.items():
            self.directory[(institution, service)] = f"http://{self.host}:{port}"
        if self.portals:
            progress(f"starting {len(self.portals)} portals")
            for portal in self.portals.values():
                portal.task = asyncio.create_task(
                    serve(portal.server), name=f"{portal.institution}/portal"
                )
            while not all(p.server.started for p in self.portals.values()):
                if any(p.task and p.task.done() for p in self.portals.values()):
                    raise RuntimeError("a portal failed to start")
                await asyncio.sleep(0.05)

    def issuer(self, institution: str) -> TokenIssuer:
        if institution not in self._issuers:  # read the keys file once
            keys = InstitutionKeys.load(self.key_files[institution])
            self._issuers[institution] = token_issuer_of(keys)
        return self._issuers[institution]

    def signer(self, institution: str) -> EventSigner:
        """The institution's event signing key (development keys; tests sign with it)."""
        key = InstitutionKeys.load(self.key_files[institution]).signing_key
        if key is None:
            raise RuntimeError(f"{institution} has no event signing key")
        return EventSigner(key)

    def token(
        self,
        institution: str,
        subject: str,
        *roles: Role,
        audience: str | None = None,
        ref: str | None = None,
    ) -> str:
        """A bearer token from the institution's development issuer: for its own services,
        or with `audience` another institution's (a participant on the lead's pairing API,
        carrying their `ref`)."""
        return self.issuer(institution).mint(
            subject, roles, audience_of(audience or institution), participant_ref=ref
        )

    async def sign_in(
        self, institution: str, login: str, *groups: str, audience: str | None = None
    ) -> str:
        """Sign in as `login` at the institution's development IdP (known to it from now
        on, in exactly these groups): its access token, or with `audience` a token
        exchanged at the home identity for that institution's services. A token still
        good for a minute is reused, as a portal keeps its session."""
        key = (institution, login, tuple(sorted(groups)), audience)
        cached = self._signed_in.get(key)
        if cached is not None and cached[1] - time.monotonic() > 60:
            return cached[0]
        idp = self.idps[institution]
        known = next((a for a in reversed(idp.accounts) if a.login == login), None)
        if known is None or set(known.groups) != set(groups):
            idp.add(Account(login, f"{login}@{institution}.example", login, tuple(groups)))
        signed = await sign_in(idp.issuer, PORTAL_CLIENT, REDIRECT_URI, login)
        token, lifetime = signed.access_token, signed.expires_in
        if audience is not None:
            token = await exchange(self.url(institution, "identity"), token, audience)
            lifetime = min(lifetime, 600)
        self._signed_in[key] = (token, time.monotonic() + lifetime)
        return token

    def url(self, institution: str, service: ServiceName) -> str:
        port = self.elsewhere.get((institution, service))
        if port is not None:
            return f"http://{self.host}:{port}"
        return self.services[(institution, service)].url

    def runtime(self, institution: str, service: ServiceName) -> ServiceRuntime:
        return self.services[(institution, service)].runtime

    def portal_url(self, institution: str) -> str:
        return self.portals[institution].url

    async def stop(self) -> None:
        for portal in self.portals.values():
            portal.server.should_exit = True
        await asyncio.gather(
            *(p.task for p in self.portals.values() if p.task), return_exceptions=True
        )
        for running in self.services.values():
            running.server.should_exit = True
        await asyncio.gather(
            *(s.task for s in self.services.values() if s.task), return_exceptions=True
        )
        self.stop_idps()
