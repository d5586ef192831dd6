"""Service settings from the environment, all under one prefix: TELEMACHUS_."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from telemachus.shared.contracts.topics import ServiceName, check_institution_id
from telemachus.shared.security.oidc import ClaimMapping
from telemachus.shared.security.tokens import MAX_LIFETIME

ENV_PREFIX = "TELEMACHUS_"
TelemetryExporter = Literal["none", "console", "file", "otlp"]


class InstitutionSettings(BaseSettings):
    """What every process of an institution is told the same way: whose it is, how its
    IdP's tokens name people and roles (the services check them, the portal signs in with
    them), where its traces go and how it logs."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    institution: str
    # Which claim names the person (matched to a participant's `subject`), and which groups
    # give which roles, e.g. "telemachus-coordinators=coordinator,telemachus-ops=operator"
    # (docs/security.md shows Entra ID, Okta and Keycloak).
    oidc_subject_claim: str = "sub"
    oidc_roles_claim: str = "groups"
    oidc_role_map: str = ""
    # Tracing: none, console, file (JSON lines at telemetry_file), otlp (OTEL_EXPORTER_OTLP_*).
    telemetry_exporter: TelemetryExporter = "none"
    telemetry_file: Path = Path(".telemachus/traces.jsonl")
    # Past this size the spans file moves to <file>.1 and a new one starts.
    telemetry_file_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    log_format: Literal["json", "text"] = "json"
    log_level: str = "INFO"

    @field_validator("institution")
    @classmethod
    def _institution_id(cls, value: str) -> str:
        return check_institution_id(value)

    @field_validator("oidc_role_map")
    @classmethod
    def _role_map(cls, value: str) -> str:
        ClaimMapping.parse_role_map(value)  # a typo fails at start, not at sign-in
        return value


class ServiceSettings(InstitutionSettings):
    """What one service of one institution needs to run.

    e.g. TELEMACHUS_INSTITUTION=st-mary-hospital TELEMACHUS_SERVICE=pairing
    TELEMACHUS_FEDERATION=st-mary-hospital,city-university
    """

    service: ServiceName
    # Institutions whose topics this service reads (the trust registry's ids); always
    # includes the service's own institution.
    federation: Annotated[list[str], NoDecode] = Field(default_factory=list)
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Production: each institution its own Kafka principal (SASL/SCRAM) over TLS, with ACLs
    # on its topic prefix (docs/security.md). The local broker needs neither.
    kafka_tls: bool = False
    kafka_ca_file: Path | None = None  # trust this CA instead of the system's
    kafka_cert_file: Path | None = None  # a client certificate, if the cluster wants one
    kafka_key_file: Path | None = None
    kafka_sasl: Literal["none", "scram-sha-256", "scram-sha-512"] = "none"
    kafka_username: str | None = None
    kafka_password: SecretStr | None = None
    kafka_password_file: Path | None = None  # a mounted secret, instead of the variable
    mongodb_uri: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    # Defaults to telemachus-<institution>-<service>: each service owns its database.
    mongodb_database: str | None = None
    # The service's own MongoDB user, with its password in a mounted secret (kept out of the
    # URI and the environment); or give both in the URI.
    mongodb_username: str | None = None
    mongodb_password_file: Path | None = None
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)
    topic_partitions: int = Field(default=3, ge=1, le=1000)
    # How long a fetch may wait for data. Kafka answers early when data arrives; the local
    # stand-in (Tansu) does not, so there this bounds publish-to-handled latency.
    kafka_fetch_max_wait_ms: int = Field(default=500, ge=1, le=30_000)
    # A consumer is dropped from its group after this long without a heartbeat. A group's
    # first join waits for other members up to half of it on the local broker (Apache
    # Kafka: group.initial.rebalance.delay.ms), so it bounds how soon a service is ready;
    # Kafka's brokers accept 6 s and up by default.
    kafka_session_timeout_ms: int = Field(default=10_000, ge=1_000, le=300_000)
    # Ready once HTTP, store and broker answer; the consumers join their groups meanwhile.
    # Nothing is lost by that (a new group reads from the start, a known one from its
    # commits) and a pod takes traffic seconds sooner. The local launcher waits for the
    # joins, so a scripted step right after its start does not wait them out instead.
    join_groups_before_ready: bool = False
    # Delivery tuning (see docs/delivery.md).
    outbox_poll_seconds: float = Field(default=0.5, gt=0)
    outbox_batch_size: int = Field(default=200, ge=1, le=10_000)
    # How long published outbox rows are kept (for inspection) before MongoDB expires them.
    # How often the relay asks the broker whether it lost what was published.
    outbox_log_check_seconds: float = Field(default=5.0, gt=0)
    outbox_retention_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    # Among replicas, the one holding this lease runs the relay; another takes over when
    # it stops, or this long after it dies.
    outbox_lease_seconds: float = Field(default=10.0, ge=1.0)
    offset_commit_seconds: float = Field(default=0.2, gt=0)
    offset_commit_every: int = Field(default=200, ge=1)
    handler_attempts: int = Field(default=3, ge=1, le=20)
    handler_backoff_seconds: float = Field(default=0.2, ge=0)
    wait_for_topics_seconds: float = Field(default=30.0, ge=0)
    # How often deadline sweeps run (pairing: proposals past their answer date expire).
    sweep_seconds: float = Field(default=60.0, gt=0)
    # Security: the federation's trust registry (public, shared by all institutions) and
    # this institution's private keys (a secret). See docs/security.md.
    trust_registry_file: Path | None = None
    keys_file: Path | None = None
    # Bearer tokens living longer than this (exp - iat) are refused, whoever signed them:
    # a leaked long-lived token would otherwise open a person's records for years.
    token_max_lifetime_seconds: int = Field(
        default=int(MAX_LIFETIME.total_seconds()), ge=60, le=7 * 24 * 3600
    )
    # The institution's OpenID Connect provider (its issuer is in the trust registry): what
    # its access tokens must carry as `aud` (default telemachus:<institution>); the claims
    # and groups are read as InstitutionSettings says.
    oidc_audience: str | None = None
    # Its keys are looked up again after this long, and refused once this old.
    oidc_jwks_refresh_seconds: float = Field(default=300, gt=0)
    oidc_jwks_max_stale_seconds: float = Field(default=3600, gt=0)
    # Identity's notifier (docs/notifications.md): only the home knows a person's address,
    # so only identity reads these. No SMTP host: notices are listed in the portal only.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    smtp_username: str | None = None
    smtp_password_file: Path | None = None  # a mounted secret
    smtp_timeout_seconds: float = Field(default=15.0, gt=0)
    mail_from: str | None = None  # default: no-reply@<institution>.invalid
    # Where links in e-mails lead: this institution's portal.
    portal_url: str = "http://127.0.0.1:8080"
    # A notice whose e-mail failed this many times waits in the notifier's dead letters.
    mail_attempts: int = Field(default=8, ge=1, le=50)
    mail_backoff_seconds: float = Field(default=30.0, gt=0)
    mail_poll_seconds: float = Field(default=1.0, gt=0)
    mail_connections: int = Field(default=4, ge=1, le=64)
    # A replica that claimed an e-mail and went silent this long is presumed dead.
    mail_claim_seconds: float = Field(default=60.0, ge=1)
    # Webhooks (identity, docs/integrators): a delivery failing this many times is
    # dead-lettered; tries wait backoff * 2^n, at most max_backoff, each at most timeout.
    webhook_attempts: int = Field(default=10, ge=1, le=50)
    webhook_backoff_seconds: float = Field(default=5.0, gt=0)
    webhook_max_backoff_seconds: float = Field(default=3600.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # Development only: endpoints on this machine over plain HTTP (`make up`, tests).
    webhook_loopback_http: bool = False
    # Who acts on stalled relationships, the designated contact for concerns raised by
    # this institution's people, and who hears of one left unanswered (default: the
    # coordinators).
    coordinator_emails: Annotated[list[str], NoDecode] = Field(default_factory=list)
    concern_contact_email: str | None = None
    concern_escalation_emails: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @model_validator(mode="after")
    def _sasl_credentials(self) -> ServiceSettings:
        if self.kafka_sasl != "none":
            if not self.kafka_username:
                raise ValueError(f"{ENV_PREFIX}KAFKA_USERNAME is required with SASL")
            if not (self.kafka_password or self.kafka_password_file):
                raise ValueError(
                    f"{ENV_PREFIX}KAFKA_PASSWORD or {ENV_PREFIX}KAFKA_PASSWORD_FILE is "
                    "required with SASL"
                )
        return self

    @field_validator("federation", "coordinator_emails", "concern_escalation_emails", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("federation")
    @classmethod
    def _federation_ids(cls, value: list[str]) -> list[str]:
        return [check_institution_id(v) for v in value]

    @property
    def mail_sender(self) -> str:
        return self.mail_from or f"no-reply@{self.institution}.invalid"

    def mongodb_credentials(self) -> dict[str, str]:
        """AsyncMongoClient keyword arguments for the service's own user, if configured."""
        if self.mongodb_password_file is None:
            return {}
        password = self.mongodb_password_file.read_text().strip()
        return {"username": self.mongodb_username or self.service, "password": password}

    @property
    def database_name(self) -> str:
        return self.mongodb_database or f"telemachus-{self.institution}-{self.service}"

    @property
    def institutions(self) -> list[str]:
        """The federation, own institution first, without repeats."""
        return list(dict.fromkeys([self.institution, *self.federation]))

    @property
    def consumer_group(self) -> str:
        return f"telemachus.{self.institution}.{self.service}"
