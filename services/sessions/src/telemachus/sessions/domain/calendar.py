"""A participant's sessions as an iCalendar (RFC 5545) feed, through the `icalendar`
package.

Times are local to the reader's zone, with its TZID and VTIMEZONE, so a session shows at
the right local time across daylight-saving changes in every client (some read UTC times
of a later date with the offset of today). Each session is one VEVENT whose UID stays the
same when it moves; SEQUENCE rises with every change, a cancellation included, and a
cancelled session stays in the feed with STATUS:CANCELLED so clients remove it. The words
say what the session is (topic, roles, place or link), never anyone's reference code.
The feed's version (`version`) changes only when a session does, for ETag and 304.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from telemachus.sessions.domain.model import (
    Format,
    MentoringSession,
    Relationship,
    SessionStatus,
)

PRODID = "-//Telemachus//Reverse mentoring sessions//EN"
SHOWN = {
    SessionStatus.SCHEDULED: "CONFIRMED",
    SessionStatus.HELD: "CONFIRMED",
    SessionStatus.MISSED: "CONFIRMED",
    SessionStatus.PROPOSED: "TENTATIVE",
    SessionStatus.CANCELLED: "CANCELLED",
}
ROLE = {"mentor": "junior mentor", "mentee": "senior mentee"}


def sequence(session: MentoringSession) -> int:
    """Moves so far, and one more once cancelled: clients apply only a higher SEQUENCE."""
    return session.sequence + (session.status is SessionStatus.CANCELLED)


def _where(session: MentoringSession) -> str:
    """In person with its place, else the link, else the format alone."""
    if session.format is Format.IN_PERSON and session.place:
        return f"in person, {session.place}"
    if session.link:
        return f"online, {session.link}"
    return "in person" if session.format is Format.IN_PERSON else "online"


def _words(relationship: Relationship, session: MentoringSession, me: str) -> tuple[str, str]:
    mine, theirs = relationship.role_of(me), relationship.role_of(relationship.other(me))
    summary = f"Reverse mentoring: {relationship.topic} (you are the {ROLE[mine]})"
    description = (
        f"A reverse mentoring session on {relationship.topic} with your {ROLE[theirs]}, "
        f"{_where(session)}. You are the {ROLE[mine]}."
    )
    if session.status is SessionStatus.PROPOSED:
        description += " Proposed: not yet confirmed by both of you."
    return summary, description


def _event(
    relationship: Relationship, session: MentoringSession, me: str, zone: ZoneInfo, stamp: datetime
) -> Event:
    summary, description = _words(relationship, session, me)
    event = Event()
    event.add("uid", f"{session.id}@{relationship.id}.telemachus")
    event.add("dtstamp", stamp)
    event.add("dtstart", session.starts_at.astimezone(zone))
    event.add("dtend", session.ends_at.astimezone(zone))
    event.add("sequence", sequence(session))
    event.add("status", SHOWN[session.status])
    event.add("summary", summary)
    event.add("description", description)
    if session.place:
        event.add("location", session.place)
    if session.link:
        event.add("url", str(session.link))
    return event


def version(relationships: Iterable[Relationship], zone: ZoneInfo) -> str:
    """A digest of everything the feed shows but its DTSTAMP: the same while no session
    changed, so calendar clients polling with If-None-Match get 304."""
    digest = hashlib.sha256(str(zone).encode())
    for relationship in relationships:
        digest.update(f"{relationship.id}|{relationship.topic}".encode())
        for s in relationship.sessions:
            shown = (s.id, s.starts_at, s.ends_at, s.status, s.sequence, s.place, s.link, s.format)
            digest.update(repr(shown).encode())
    return digest.hexdigest()[:32]


def feed(me: str, relationships: Iterable[Relationship], now: datetime, zone: ZoneInfo) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "Reverse mentoring")
    calendar.add("x-wr-timezone", str(zone))
    sessions = [(r, s) for r in relationships for s in r.sessions]
    for relationship, session in sessions:
        calendar.add_component(_event(relationship, session, me, zone, now))
    if sessions:
        # Transitions for the years the feed spans only: the default span (1970-2038)
        # opens with London's 1968-71 "British Standard Time", which some readers (seen:
        # dateutil's, under vobject) then apply to every later date, an hour off.
        years = [s.starts_at.astimezone(zone).year for _, s in sessions]
        calendar.add_missing_timezones(
            first_date=date(min(years) - 1, 1, 1), last_date=date(max(years) + 2, 1, 1)
        )
    return bytes(calendar.to_ical())
