from __future__ import annotations

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
