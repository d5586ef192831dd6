"""A participant's sessions as an iCalendar (RFC 5545) feed.

Times are written in UTC ("Z"), which every client converts to its own zone, so a
session keeps its instant across daylight-saving changes on either side. Each session
is one VEVENT whose UID stays the same when it moves; SEQUENCE counts the moves, and a
cancelled session stays in the feed with STATUS:CANCELLED so clients remove it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from telemachus.sessions.domain.model import MentoringSession, Relationship, SessionStatus

PRODID = "-//Telemachus//Reverse mentoring sessions//EN"
SHOWN = {
    SessionStatus.SCHEDULED: "CONFIRMED",
    SessionStatus.HELD: "CONFIRMED",
    SessionStatus.MISSED: "CONFIRMED",
    SessionStatus.PROPOSED: "TENTATIVE",
    SessionStatus.CANCELLED: "CANCELLED",
}


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after CRLF and a space."""
    raw = line.encode("utf-8")
    if len(raw) <= 75:
        return line
    parts: list[str] = []
    current = b""
    for char in line:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > (75 if not parts else 74):
            parts.append(current.decode("utf-8"))
            current = b""
        current += encoded
    parts.append(current.decode("utf-8"))
    return "\r\n ".join(parts)


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _event(
    relationship: Relationship, session: MentoringSession, me: str, now: datetime
) -> list[str]:
    role = relationship.role_of(me)
    other = "mentee" if role == "mentor" else "mentor"
    lines = [
        "BEGIN:VEVENT",
        f"UID:{session.id}@{relationship.id}.telemachus",
        f"DTSTAMP:{_utc(now)}",
        f"DTSTART:{_utc(session.starts_at)}",
        f"DTEND:{_utc(session.ends_at)}",
        f"SEQUENCE:{session.sequence}",
        f"STATUS:{SHOWN[session.status]}",
        "SUMMARY:" + _escape(f"Reverse mentoring: {relationship.topic} (you are the {role})"),
        "DESCRIPTION:"
        + _escape(
            f"Session with your {other} ({relationship.other(me)}) in program "
            f"{relationship.program_id}."
        ),
    ]
    if session.place:
        lines.append("LOCATION:" + _escape(session.place))
    if session.link:
        lines.append(f"URL:{session.link}")
    lines.append("END:VEVENT")
    return lines


def feed(me: str, relationships: Iterable[Relationship], now: datetime) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:Reverse mentoring",
    ]
    for relationship in relationships:
        for session in relationship.sessions:
            lines.extend(_event(relationship, session, me, now))
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)
