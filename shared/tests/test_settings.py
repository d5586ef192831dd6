from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from telemachus.shared.runtime.settings import ServiceSettings


def test_settings_come_from_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMACHUS_INSTITUTION", "st-marys")
    monkeypatch.setenv("TELEMACHUS_FEDERATION", "northgate, st-marys,harbour")
    monkeypatch.setenv("TELEMACHUS_HTTP_PORT", "8123")
    settings = ServiceSettings(service="pairing")
    assert settings.institutions == ["st-marys", "northgate", "harbour"]
    assert settings.http_port == 8123
    assert settings.database_name == "telemachus-st-marys-pairing"
    assert settings.consumer_group == "telemachus.st-marys.pairing"


def test_a_bad_setting_names_the_variable_and_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMACHUS_INSTITUTION", "St Mary's")
    with pytest.raises(ValidationError, match="institution") as error:
        ServiceSettings(service="pairing")
    assert "lowercase letters" in str(error.value)


def test_a_mongodb_password_comes_from_its_file_and_the_user_is_the_services(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "mongo-password"
    secret.write_text("s3cret\n")
    settings = ServiceSettings(
        institution="hospital",
        service="pairing",
        mongodb_uri="mongodb://db:27017/?replicaSet=rs0&authSource=admin",
        mongodb_password_file=secret,
    )
    assert settings.mongodb_credentials() == {"username": "pairing", "password": "s3cret"}
    assert "s3cret" not in repr(settings)
    plain = ServiceSettings(institution="hospital", service="pairing")
    assert plain.mongodb_credentials() == {}
