"""Session invitations as iCalendar (RFC 5546 iTIP) through the `icalendar` package: a
request when a session is agreed or moved, a cancellation when it will not take place,
all with one UID per session and a SEQUENCE that rises with every change, so calendars
update the event they hold instead of adding another."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

from telemachus.identity.notifications.notices import Notice, NoticeKind


def session_uid(session_id: str, lead: str) -> str:
    return f"{session_id}@{lead}.telemachus"


def session_invite(
    notice: Notice,
    *,
    attendee: str,
    organizer: str,
    organizer_name: str,
    summary: str,
    description: str,
    url: str,
    time_zone: str,
) -> tuple[str, bytes]:
    """(METHOD, the calendar's bytes) for a session notice."""
    params = notice.params
    cancelled = notice.kind is NoticeKind.SESSION_CANCELLED
    method = "CANCEL" if cancelled else "REQUEST"
    zone = ZoneInfo(time_zone)
    calendar = Calendar()
    calendar.add("prodid", "-//Telemachus//Reverse mentoring//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", session_uid(params["session_id"], notice.lead))
    event.add("sequence", int(params["sequence"]))
    event.add("dtstamp", notice.created_at)
    # Local times with their TZID (and the VTIMEZONE below): right across DST changes.
    event.add("dtstart", datetime.fromisoformat(params["starts_at"]).astimezone(zone))
    event.add("dtend", datetime.fromisoformat(params["ends_at"]).astimezone(zone))
    event.add("summary", summary)
    event.add("description", description)
    event.add("url", url)
    event.add("location", vText(params["format"]))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    who = vCalAddress(f"mailto:{organizer}")
    who.params["cn"] = vText(organizer_name)
    event.add("organizer", who)
    guest = vCalAddress(f"mailto:{attendee}")
    guest.params["rsvp"] = vText("FALSE")
    guest.params["partstat"] = vText("ACCEPTED")
    event.add("attendee", guest)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return method, calendar.to_ical()
