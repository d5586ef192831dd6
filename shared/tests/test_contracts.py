from __future__ import annotations

import pytest

from telemachus.shared.contracts.base import IntegrationEvent, registered_events
from telemachus.shared.contracts.catalog import all_schemas
from telemachus.shared.contracts.topics import dead_letter_topic, event_source, event_topic


def test_every_event_type_is_versioned_and_named_uniquely() -> None:
    events = registered_events()
    assert len(events) >= 6
    assert all(name.startswith("org.telemachus.") for name in events)
    assert all(name.rsplit(".", 1)[-1].startswith("v") for name in events)
    assert len({model.__name__ for model in events.values()}) == len(events)


def test_an_unversioned_event_type_is_refused() -> None:
    with pytest.raises(TypeError, match="version"):
        type(
            "Unversioned",
            (IntegrationEvent,),
            {"event_type": "org.telemachus.x.thing", "key_field": "id"},
        )


def test_schemas_name_type_and_key() -> None:
    schema = all_schemas()["org.telemachus.pairing.pairing-confirmed.v1"]
    assert schema["x-kafka-key"] == "pairing_id"
    assert {"pairing_id", "mentor_ref", "mentee_ref"} <= set(schema["required"])


def test_topic_names() -> None:
    assert event_topic("st-marys", "pairing") == "telemachus.st-marys.pairing"
    assert dead_letter_topic("st-marys", "pairing") == "telemachus.st-marys.pairing.dead-letter"
    assert event_source("st-marys", "identity") == "/telemachus/st-marys/identity"
    with pytest.raises(ValueError, match="institution id"):
        event_topic("St Marys", "pairing")
