"""Valid sample events for tests and benchmarks, and the CloudEvents headers to send them."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime

from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.envelope import CloudEventAttributes
from telemachus.shared.contracts.identity import ProgramPublishedV1
from telemachus.shared.contracts.vocabulary import PairingMode
from telemachus.shared.security.signing import MATERIAL_HEADER, EventSigner


def program_published(program_id: str) -> ProgramPublishedV1:
    """A program led by the institution named in its id ("<lead>:<opaque>")."""
    return ProgramPublishedV1(
        program_id=program_id,
        lead_institution=program_id.split(":")[0],
        partner_institutions=[],
        title="Sample program",
        topics=["e-medicine", "apps"],
        pairing_mode=PairingMode.ASSIGNED,
        relationship_weeks=12,
        planned_sessions=6,
        reporting_threshold=5,
        enrolment_opens=date(2026, 1, 1),
        enrolment_closes=date(2026, 12, 31),
    )


def envelope(
    event: IntegrationEvent,
    topic: str,
    event_id: str | None = None,
    signer: EventSigner | None = None,
) -> dict[str, str]:
    """Headers as the publisher of `topic` (telemachus.<institution>.<service>) sets them,
    signed when a signer is given (as the relay signs what a service publishes)."""
    _, institution, service = topic.split(".")[:3]
    attributes = CloudEventAttributes(
        id=event_id or secrets.token_hex(8),
        source=f"/telemachus/{institution}/{service}",
        type=event.event_type,
        time=datetime.now(UTC),
        subject=event.key,
    )
    headers = attributes.to_headers()
    if signer is not None:
        headers[MATERIAL_HEADER] = signer.material(attributes, event.model_dump_json().encode())
    return headers
