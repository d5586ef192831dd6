"""A relationship's life, as its two people and the daily sweep see it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject
from pydantic import HttpUrl

from telemachus.sessions.domain import calendar, events
from telemachus.sessions.domain.availability import Slot, WeeklyAvailability
from telemachus.sessions.domain.model import (
    AgreementTerms,
    Attendance,
    Format,
    Relationship,
    RelationshipStatus,
    SessionStatus,
)
from telemachus.shared.contracts.vocabulary import PairingMode, Weekday
from telemachus.shared.errors import Conflict, Forbidden, Rejected

MENTOR, MENTEE = "uni:mentor01", "hos:mentee01"
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)  # a Monday
LONDON = WeeklyAvailability(
    time_zone="Europe/London", slots=[Slot(day=Weekday.TUESDAY, start=time(8), end=time(11))]
)
NEW_YORK = WeeklyAvailability(
    time_zone="America/New_York", slots=[Slot(day=Weekday.TUESDAY, start=time(3), end=time(7))]
)
WEEKLY = {MENTOR: NEW_YORK, MENTEE: LONDON}


def available(ref: str, start: datetime, end: datetime) -> bool:
    return WEEKLY[ref].covers(start, end)


def free(ref: str, start: datetime, end: datetime) -> bool:
    return False


def opened(planned_sessions: int = 2) -> Relationship:
    r = Relationship.open(
        pairing_id="p1",
        program_id="hos:program1",
        mode=PairingMode.ASSIGNED,
        mentor_ref=MENTOR,
        mentee_ref=MENTEE,
        topic="apps",
        starts_on=NOW.date(),
        weeks=12,
        planned_sessions=planned_sessions,
    )
    r.pop_events()
    return r


def agreed(planned_sessions: int = 2) -> Relationship:
    r = opened(planned_sessions)
    terms = AgreementTerms(mentor_objectives=["ward rounds"], mentee_objectives=["apps"])
    r.propose_agreement(MENTOR, terms, NOW)
    r.confirm_agreement(MENTEE, 1, NOW)
    r.pop_events()
    return r


def at(day: date, hour: int, zone: str = "Europe/London") -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(zone))


TUESDAY = date(2026, 3, 10)
LINK = HttpUrl("https://meet.example/abc")  # US on daylight time, UK not yet


def propose(r: Relationship, starts: datetime, who: str = MENTOR) -> str:
    s = r.propose_session(
        who,
        starts_at=starts,
        minutes=60,
        format=Format.VIRTUAL,
        place=None,
        link=LINK,
        now=NOW,
        available=available,
        busy=free,
    )
    return s.id


def test_the_agreement_needs_both_and_a_change_needs_both_again() -> None:
    r = opened()
    with pytest.raises(Conflict, match="learning agreement"):
        propose(r, at(TUESDAY, 9))
    terms = AgreementTerms(mentor_objectives=["clinical reasoning"], mentee_objectives=["apps"])
    r.propose_agreement(MENTOR, terms, NOW)
    with pytest.raises(Conflict, match="already confirmed"):
        r.confirm_agreement(MENTOR, 1, NOW)
    r.confirm_agreement(MENTEE, 1, NOW)
    assert r.agreed and [type(e) for e in r.pop_events()] == [events.AgreementConfirmed]
    r.propose_agreement(MENTEE, terms.model_copy(update={"cadence_weeks": 3}), NOW)
    assert not r.agreed and r.agreement is not None and r.agreement.revision == 2
    with pytest.raises(Forbidden):
        r.propose_agreement("xx:outsider", terms, NOW)


def test_times_are_checked_against_both_availabilities_across_time_zones() -> None:
    r = agreed()
    # 09:00 London = 05:00 New York on 10 March (US already on daylight time): inside both.
    propose(r, at(TUESDAY, 9))
    # A week earlier the US is on standard time: 09:00 London is 04:00 New York, still in;
    # 07:00 London is 02:00 New York: outside the mentor's slot.
    with pytest.raises(Rejected, match="availability of the mentor"):
        propose(r, at(TUESDAY - timedelta(days=7), 7))
    with pytest.raises(Rejected, match="availability of the mentee"):
        propose(r, at(TUESDAY, 7))  # 03:00 in New York, but 07:00 in London
    with pytest.raises(Conflict, match="overlaps"):
        propose(r, at(TUESDAY, 9) + timedelta(minutes=30))
    with pytest.raises(Rejected, match="past"):
        propose(r, NOW - timedelta(days=1))
    with pytest.raises(Rejected, match="place"):
        r.propose_session(
            MENTOR,
            starts_at=at(TUESDAY + timedelta(days=7), 9),
            minutes=60,
            format=Format.IN_PERSON,
            place=None,
            link=None,
            now=NOW,
            available=available,
            busy=free,
        )
    with pytest.raises(Conflict, match="another session"):
        r.propose_session(
            MENTOR,
            starts_at=at(TUESDAY + timedelta(days=7), 9),
            minutes=60,
            format=Format.IN_PERSON,
            place="Room 2",
            link=None,
            now=NOW,
            available=available,
            busy=lambda ref, s, e: ref == MENTEE,
        )


def test_sessions_are_confirmed_moved_missed_and_held_to_completion() -> None:
    r = agreed(planned_sessions=2)
    first = propose(r, at(TUESDAY, 9))
    with pytest.raises(Conflict, match="other party"):
        r.confirm_session(MENTOR, first)
    r.confirm_session(MENTEE, first)
    r.reschedule(
        MENTEE,
        first,
        starts_at=at(TUESDAY, 10),
        minutes=45,
        now=NOW,
        available=available,
        busy=free,
    )
    r.confirm_session(MENTOR, first)
    assert [type(e) for e in r.pop_events()] == [events.SessionScheduled, events.SessionRescheduled]
    second = propose(r, at(TUESDAY + timedelta(days=7), 9))
    r.confirm_session(MENTEE, second)
    third = propose(r, at(TUESDAY + timedelta(days=14), 9))
    r.confirm_session(MENTEE, third)
    r.pop_events()
    later = at(TUESDAY + timedelta(days=15), 9)
    with pytest.raises(Conflict, match="after the session"):
        r.record_attendance(MENTOR, first, Attendance.HELD, at(TUESDAY, 10))
    r.record_attendance(MENTOR, first, Attendance.HELD, later)
    r.record_attendance(MENTEE, first, Attendance.HELD, later)
    r.record_attendance(MENTEE, second, Attendance.MISSED, later)
    r.record_attendance(MENTOR, third, Attendance.HELD, later)
    r.record_attendance(MENTEE, third, Attendance.HELD, later)
    assert [type(e) for e in r.pop_events()] == [
        events.SessionHeld,
        events.SessionMissed,
        events.SessionHeld,
        events.RelationshipCompleted,
    ]
    assert r.status is RelationshipStatus.COMPLETED and r.held == 2


def test_an_exit_cancels_what_is_planned_and_a_rematch_follows_it_only() -> None:
    r = agreed()
    planned = propose(r, at(TUESDAY, 9))
    r.confirm_session(MENTEE, planned)
    r.pop_events()
    with pytest.raises(Conflict, match="early end"):
        r.request_rematch(MENTEE, NOW)
    r.end(MENTEE, NOW.date())
    assert [type(e) for e in r.pop_events()] == [events.SessionCancelled, events.RelationshipEnded]
    assert r.sessions[0].status is SessionStatus.CANCELLED
    r.request_rematch(MENTOR, NOW)
    (rematch,) = r.pop_events()
    assert isinstance(rematch, events.RematchRequested) and rematch.participant_ref == MENTOR
    with pytest.raises(Conflict, match="ended"):
        propose(r, at(TUESDAY, 9))


def test_a_pause_cancels_what_is_planned_and_lasts_until_every_hold_is_released() -> None:
    r = agreed()
    planned = propose(r, at(TUESDAY, 9))
    r.confirm_session(MENTEE, planned)
    r.pop_events()
    r.pause("hold-a")
    r.pause("hold-a")  # redelivered: one hold, one cancellation
    assert [type(e) for e in r.pop_events()] == [events.SessionCancelled] and r.paused
    with pytest.raises(Conflict, match="paused"):
        propose(r, at(TUESDAY, 10))
    with pytest.raises(Conflict, match="paused"):
        r.propose_agreement(
            MENTEE, AgreementTerms(mentor_objectives=["a"], mentee_objectives=["b"]), NOW
        )
    r.review(NOW.date() + timedelta(weeks=10), stall_weeks=3)
    assert r.stalled_since is None  # idle on purpose
    r.pause("hold-b")  # a second concern about the same relationship
    r.resume("hold-a")
    assert r.paused
    r.resume("hold-b")
    assert not r.paused
    propose(r, at(TUESDAY, 10))


def test_a_paused_relationship_can_still_be_ended_by_either_party() -> None:
    r = agreed()
    r.pause("hold-a")
    r.end(MENTOR, NOW.date())
    assert r.status is RelationshipStatus.ENDED
    r.pause("hold-b")  # after the end: nothing to hold
    assert r.pause_holds == ["hold-a"]


def test_the_sweep_flags_idle_relationships_once_and_completes_at_the_end_date() -> None:
    r = agreed()
    r.review(NOW.date() + timedelta(weeks=2), stall_weeks=3)
    assert r.stalled_since is None
    r.review(NOW.date() + timedelta(weeks=3), stall_weeks=3)
    r.review(NOW.date() + timedelta(weeks=4), stall_weeks=3)
    assert [type(e) for e in r.pop_events()] == [events.RelationshipStalled]
    r.review(r.planned_end + timedelta(days=1), stall_weeks=3)
    (done,) = r.pop_events()
    assert isinstance(done, events.RelationshipCompleted) and done.reason == "end-date-passed"


def test_the_calendar_feed_writes_local_times_with_their_zone_across_a_dst_change() -> None:
    r = agreed(planned_sessions=5)
    # Three Tuesdays at 09:00 London: before the US change (8 Mar), between the changes,
    # and after the UK change (29 Mar). The UTC instant moves with London's offset.
    days = [date(2026, 3, 3), date(2026, 3, 10), date(2026, 3, 31)]
    for day in days:
        r.confirm_session(MENTEE, propose(r, at(day, 9)))
    london = ZoneInfo("Europe/London")
    text = calendar.feed(MENTOR, [r], NOW, london)
    assert all(len(line) <= 75 for line in text.split(b"\r\n"))
    assert text.count(b"DTSTART;TZID=Europe/London:") == 3 and b"BEGIN:VTIMEZONE" in text

    # Two independent parsers read the same local times, and the same instants.
    parsed = icalendar.Calendar.from_ical(text)
    starts = sorted(e.decoded("dtstart") for e in parsed.walk("VEVENT"))
    assert [(s.hour, str(s.tzinfo)) for s in starts] == [(9, "Europe/London")] * 3
    assert [s.astimezone(ZoneInfo("America/New_York")).hour for s in starts] == [4, 5, 4]
    assert [s.astimezone(UTC).hour for s in starts] == [9, 9, 8]
    read = vobject.readOne(text.decode())
    other = sorted(e.dtstart.value for e in read.vevent_list)
    assert [s.astimezone(UTC) for s in other] == [s.astimezone(UTC) for s in starts]
    assert [s.hour for s in other] == [9, 9, 9]

    event = parsed.walk("VEVENT")[0]
    assert str(event["status"]) == "CONFIRMED" and event.decoded("sequence") == 0
    assert "you are the junior mentor" in str(event["summary"])
    words = str(event["description"])
    assert "with your senior mentee" in words and MENTEE not in words and MENTOR not in words


def test_a_cancelled_session_comes_with_a_higher_sequence_and_a_new_version() -> None:
    r = agreed(planned_sessions=5)
    session_id = propose(r, at(TUESDAY, 9))
    r.confirm_session(MENTEE, session_id)
    zone = ZoneInfo("Australia/Sydney")
    before = calendar.version([r], zone)
    assert calendar.version([r], zone) == before  # nothing changed: the same version
    r.cancel(MENTOR, session_id)
    [event] = icalendar.Calendar.from_ical(calendar.feed(MENTOR, [r], NOW, zone)).walk("VEVENT")
    assert str(event["status"]) == "CANCELLED" and event.decoded("sequence") == 1
    assert calendar.version([r], zone) != before
    assert calendar.version([r], ZoneInfo("UTC")) != calendar.version([r], zone)


def test_a_party_who_leaves_takes_their_words_and_attendance_with_them() -> None:
    r = agreed(planned_sessions=3)
    first = propose(r, at(TUESDAY, 9))
    r.confirm_session(MENTEE, first)
    later = at(TUESDAY + timedelta(days=1), 9)
    r.record_attendance(MENTOR, first, Attendance.HELD, later)
    r.record_attendance(MENTEE, first, Attendance.HELD, later)
    r.end(None, later.date(), withdrawn=True)
    r.forget(MENTOR)
    assert r.agreement is None
    [session] = r.sessions
    assert session.link is None and session.place is None
    assert session.attendance == {MENTEE: Attendance.HELD}
    assert r.held == 1 and r.parties == (MENTOR, MENTEE)  # the counted facts stay
    with pytest.raises(Forbidden):
        r.forget("uni:stranger01")
