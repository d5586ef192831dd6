"""Read Telemachus events as an integrator, from Kafka or webhooks: every event verified
against the federation's trust registry and validated against its published schema.

    from telemachus_integrator import Reader, Refused

    reader = Reader("registry.json")
    try:
        event = reader.from_kafka(record.topic, record.headers, record.value)
    except Refused as refused:
        ...  # refused.reason: unsigned, bad-signature, wrong-source, invalid, ...
"""

from telemachus_integrator.events import Event, Refused
from telemachus_integrator.reader import Freshness, Reader
from telemachus_integrator.registry import TrustRegistry
from telemachus_integrator.schemas import Schemas

__all__ = ["Event", "Freshness", "Reader", "Refused", "Schemas", "TrustRegistry"]
