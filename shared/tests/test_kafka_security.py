"""Kafka TLS and SASL/SCRAM options from settings, as the broker and admin clients get them."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from pydantic import ValidationError

from telemachus.shared.runtime.kafka_security import client_options
from telemachus.shared.runtime.settings import ServiceSettings


def settings(**values: object) -> ServiceSettings:
    return ServiceSettings.model_validate({"institution": "hosp", "service": "pairing", **values})


def test_the_local_broker_needs_nothing() -> None:
    assert client_options(settings()) == {}


def test_an_institution_principal_over_tls() -> None:
    options = client_options(
        settings(
            kafka_tls=True, kafka_sasl="scram-sha-512", kafka_username="hosp", kafka_password="s"
        )
    )
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("hosp", "s")
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert options["ssl_context"].verify_mode == ssl.CERT_REQUIRED


def test_tls_alone_and_scram_256() -> None:
    assert client_options(settings(kafka_tls=True))["security_protocol"] == "SSL"
    plain = client_options(
        settings(kafka_sasl="scram-sha-256", kafka_username="u", kafka_password="p")
    )
    assert (plain["security_protocol"], plain["sasl_mechanism"]) == (
        "SASL_PLAINTEXT",
        "SCRAM-SHA-256",
    )


def test_the_password_may_come_from_a_mounted_secret(tmp_path: Path) -> None:
    secret = tmp_path / "kafka-password"
    secret.write_text("from-a-file\n")
    options = client_options(
        settings(kafka_sasl="scram-sha-512", kafka_username="u", kafka_password_file=secret)
    )
    assert options["sasl_plain_password"] == "from-a-file"


def test_sasl_without_a_password_names_the_setting() -> None:
    with pytest.raises(ValidationError, match="TELEMACHUS_KAFKA_PASSWORD"):
        settings(kafka_sasl="scram-sha-512", kafka_username="hosp")


def test_the_password_never_shows_in_the_settings_repr() -> None:
    assert "hunter2" not in repr(
        settings(kafka_sasl="scram-sha-512", kafka_username="u", kafka_password="hunter2")
    )
