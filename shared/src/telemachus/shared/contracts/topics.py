"""Topic names: one topic per producing service per institution."""

from __future__ import annotations

import re
from typing import Literal

ServiceName = Literal["identity", "pairing", "sessions", "feedback"]
SERVICES: tuple[ServiceName, ...] = ("identity", "pairing", "sessions", "feedback")
_INSTITUTION_ID = re.compile(r"^[a-z][a-z0-9-]{1,40}$")


def check_institution_id(institution: str) -> str:
    if not _INSTITUTION_ID.fullmatch(institution):
        raise ValueError(
            f"institution id {institution!r} must be 2-41 lowercase letters, digits or '-', "
            "starting with a letter (it becomes part of topic names)"
        )
    return institution


def event_topic(institution: str, service: ServiceName) -> str:
    return f"telemachus.{check_institution_id(institution)}.{service}"


def dead_letter_topic(institution: str, service: ServiceName) -> str:
    """Where one service's consumers put what they could not handle."""
    return f"{event_topic(institution, service)}.dead-letter"


def service_topics(institution: str, service: ServiceName) -> list[str]:
    """The topics a service makes at start: its events, then its dead letters. Launchers
    and tests make them ahead for services that start later, so that no consumer of them
    waits for them."""
    return [event_topic(institution, service), dead_letter_topic(institution, service)]


def event_source(institution: str, service: ServiceName) -> str:
    """The CloudEvents `source` of everything a service publishes."""
    return f"/telemachus/{check_institution_id(institution)}/{service}"


def publisher_of(topic: str) -> tuple[str, str]:
    """The institution that publishes on an event topic, and the `source` it must use.

    ("", "") for a name that is not `telemachus.<institution>.<service>`.
    """
    parts = topic.split(".")
    if len(parts) != 3 or parts[0] != "telemachus" or parts[2] not in SERVICES:
        return "", ""
    if not _INSTITUTION_ID.fullmatch(parts[1]):
        return "", ""
    return parts[1], event_source(parts[1], parts[2])
