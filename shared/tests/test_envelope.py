from __future__ import annotations

from datetime import UTC, datetime

import pytest

from telemachus.shared.contracts.envelope import CloudEventAttributes, EnvelopeError


def attributes() -> CloudEventAttributes:
    return CloudEventAttributes(
        id="e-1",
        source="/telemachus/hospital/pairing",
        type="org.telemachus.pairing.pairing-proposed.v1",
        time=datetime(2026, 5, 1, 12, tzinfo=UTC),
        subject="pairing_1",
    )


def test_attributes_travel_as_ce_headers_and_come_back_equal() -> None:
    headers = attributes().to_headers()
    assert headers["ce_specversion"] == "1.0"
    assert headers["content-type"] == "application/json"
    kafka_headers = [(k, v.encode()) for k, v in headers.items()]
    assert CloudEventAttributes.from_headers(kafka_headers) == attributes()


@pytest.mark.parametrize("dropped", ["ce_id", "ce_source", "ce_type", "ce_time"])
def test_a_missing_attribute_is_named(dropped: str) -> None:
    headers = attributes().to_headers()
    del headers[dropped]
    with pytest.raises(EnvelopeError, match=dropped):
        CloudEventAttributes.from_headers(headers)


def test_wrong_spec_version_and_bad_time_are_refused_with_the_attribute() -> None:
    with pytest.raises(EnvelopeError, match="ce_specversion"):
        CloudEventAttributes.from_headers({**attributes().to_headers(), "ce_specversion": "0.3"})
    with pytest.raises(EnvelopeError, match="ce_time"):
        CloudEventAttributes.from_headers({**attributes().to_headers(), "ce_time": "noon"})


def test_undecodable_header_is_refused() -> None:
    with pytest.raises(EnvelopeError, match="ce_subject: header is not UTF-8"):
        CloudEventAttributes.from_headers([("ce_subject", b"\xff")])
