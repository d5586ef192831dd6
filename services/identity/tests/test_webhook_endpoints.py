"""Where webhooks may point, and what a delivery request carries."""

from __future__ import annotations

import pytest

from telemachus.identity.webhooks.http_binding import request_headers
from telemachus.identity.webhooks.subscriptions import check_endpoint, check_event_types
from telemachus.shared.errors import Rejected
from telemachus.shared.runtime.lost_records import REPUBLISHED_HEADER


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://93.184.216.34/hook", "must be https://"),
        ("https://10.0.0.7/hook", "private or reserved"),
        ("https://192.168.1.20/hook", "private or reserved"),
        ("https://169.254.169.254/latest/meta-data", "private or reserved"),  # cloud metadata
        ("https://127.0.0.1:27017/", "private or reserved"),  # the store, on this machine
        ("https://[::1]/hook", "private or reserved"),
        ("https://localhost/hook", "private or reserved"),
        ("https://user:secret@93.184.216.34/hook", "must not carry credentials"),
        ("https:///hook", "needs a host"),
    ],
)
def test_an_endpoint_inside_the_network_or_without_tls_is_refused(url: str, why: str) -> None:
    with pytest.raises(Rejected) as refused:
        check_endpoint(url)
    assert refused.value.field == "url" and why in refused.value.reason


def test_a_public_https_endpoint_is_taken_and_loopback_http_only_in_development() -> None:
    assert check_endpoint("https://93.184.216.34/telemachus") == "https://93.184.216.34/telemachus"
    with pytest.raises(Rejected):
        check_endpoint("http://127.0.0.1:9000/hook")
    local = "http://127.0.0.1:9000/hook"
    assert check_endpoint(local, loopback_http=True) == local
    with pytest.raises(Rejected):  # development allows this machine, not the network
        check_endpoint("http://10.0.0.7/hook", loopback_http=True)


def test_event_types_must_be_published_here() -> None:
    known = [
        "org.telemachus.sessions.session-held.v1",
        "org.telemachus.identity.program-published.v1",
    ]
    taken = check_event_types([known[0], known[0]], known)
    assert taken == (known[0],)
    for wanted in ([], ["org.example.payroll.v1"]):
        with pytest.raises(Rejected) as refused:
            check_event_types(wanted, known)
        assert refused.value.field == "event_types"


def test_a_delivery_is_the_cloudevents_http_binding_of_the_kafka_record() -> None:
    row = {
        "_id": "webhook_x/evt-1",
        "headers": {
            "ce_id": "evt-1",
            "ce_source": "/telemachus/st-marys-hospital/sessions",
            "ce_type": "org.telemachus.sessions.session-held.v1",
            "ce_dssematerial": "eyJ9",
            "content-type": "application/json",
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            REPUBLISHED_HEADER: "1",  # our own bookkeeping stays home
        },
    }
    assert request_headers(row) == {
        "ce-id": "evt-1",
        "ce-source": "/telemachus/st-marys-hospital/sessions",
        "ce-type": "org.telemachus.sessions.session-held.v1",
        "ce-dssematerial": "eyJ9",
        "content-type": "application/json",
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "telemachus-delivery": "webhook_x/evt-1",
    }
