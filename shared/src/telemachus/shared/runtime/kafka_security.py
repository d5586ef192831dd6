"""How a service authenticates to Kafka: TLS and SASL/SCRAM from its settings, the same
for the broker that publishes and consumes and for the admin clients that create topics."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLScram256, SASLScram512

from telemachus.shared.runtime.settings import ServiceSettings


def _ssl_context(settings: ServiceSettings) -> ssl.SSLContext | None:
    if not settings.kafka_tls:
        return None
    context = ssl.create_default_context(
        cafile=str(settings.kafka_ca_file) if settings.kafka_ca_file else None
    )
    if settings.kafka_cert_file:
        context.load_cert_chain(
            str(settings.kafka_cert_file),
            str(settings.kafka_key_file) if settings.kafka_key_file else None,
        )
    return context


def broker_security(settings: ServiceSettings) -> BaseSecurity | None:
    context = _ssl_context(settings)
    if settings.kafka_sasl == "none":
        return BaseSecurity(ssl_context=context, use_ssl=True) if context else None
    scram = SASLScram512 if settings.kafka_sasl == "scram-sha-512" else SASLScram256
    if settings.kafka_password is not None:
        password = settings.kafka_password.get_secret_value()
    else:  # the validator made sure one of the two is set
        password = Path(str(settings.kafka_password_file)).read_text().strip()
    return scram(
        settings.kafka_username or "", password, ssl_context=context, use_ssl=bool(context)
    )


def client_options(settings: ServiceSettings) -> dict[str, Any]:
    """aiokafka keyword arguments (security_protocol, sasl_*, ssl_context) for admin clients."""
    return parse_security(broker_security(settings))
