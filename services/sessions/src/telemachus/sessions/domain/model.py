"""Mentoring relationships of programs this institution leads: agreements, sessions,
progress and exits.

Roles belong to the relationship: `mentor_ref` mentors `mentee_ref` here, whatever they
are elsewhere. Times are UTC instants; people's availability is checked in their zones.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, computed_field

from telemachus.sessions.domain import events
from telemachus.sessions.domain.preparation import (
    Blocker,
    GroundRules,
    Preparation,
    PreparationRecord,
    Readiness,
    readiness,
)
from telemachus.shared.contracts.vocabulary import PairingMode
from telemachus.shared.domain import Aggregate
from telemachus.shared.errors import Conflict, Forbidden, Rejected

MIN_MINUTES, MAX_MINUTES = 15, 240


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(9)}"


class RelationshipStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    ENDED = "ended"


class ExitReason(StrEnum):
    """Why a party left early: confidential, counted for coordinators, never shown."""

    SCHEDULE = "schedule"
    TOPIC_MISMATCH = "topic-mismatch"
    DISCOMFORT = "discomfort"
    OTHER = "other"


class Format(StrEnum):
    IN_PERSON = "in-person"
    VIRTUAL = "virtual"


class SessionStatus(StrEnum):
    PROPOSED = "proposed"  # one party proposed a time; the other has not confirmed
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    HELD = "held"
    MISSED = "missed"


class Attendance(StrEnum):
    HELD = "held"
    MISSED = "missed"


class AgreementTerms(BaseModel):
    """Joint learning objectives: learning runs both ways, so each side has its own."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    mentor_objectives: list[str] = Field(
        min_length=1, max_length=10, description="what the mentor will learn"
    )
    mentee_objectives: list[str] = Field(
        min_length=1, max_length=10, description="what the mentee will learn"
    )
    resources: list[str] = Field(default_factory=list, max_length=20)
    cadence_weeks: int = Field(default=2, ge=1, le=12, description="a session every N weeks")


class Agreement(AgreementTerms):
    revision: int
    proposed_by: str
    confirmed_by: list[str]
    confirmed_at: datetime | None = None
    # The program's ground rules this revision includes; confirming it acknowledges them
    # (0: agreed before the program had rules, so agreed to again).
    ground_rules_version: int = 0


class MentoringSession(BaseModel):
    id: str
    starts_at: datetime
    ends_at: datetime
    format: Format
    place: str | None = None
    link: HttpUrl | None = None
    status: SessionStatus = SessionStatus.PROPOSED
    proposed_by: str
    # How many times it was moved; a reschedule is confirmed like a first proposal.
    sequence: int = 0
    was_scheduled: bool = False
    attendance: dict[str, Attendance] = Field(default_factory=dict)
    # A circle's meeting: the same id on each member's seat of it.
    group_id: str | None = None

    def overlaps(self, starts_at: datetime, ends_at: datetime) -> bool:
        return self.starts_at < ends_at and starts_at < self.ends_at


AvailabilityCheck = Callable[[str, datetime, datetime], bool]


class Relationship(Aggregate):
    """Who mentors whom, on what, for how long."""

    pairing_id: str
    program_id: str
    mode: PairingMode
    mentor_ref: str
    mentee_ref: str
    topic: str
    starts_on: date
    planned_end: date
    planned_sessions: int
    # Circle rounds: the circle this relationship is one member's seat of (its lead is
    # the mentor), so a circle's relationships can be found together.
    circle_id: str | None = None
    status: RelationshipStatus = RelationshipStatus.ACTIVE
    agreement: Agreement | None = None
    sessions: list[MentoringSession] = Field(default_factory=list)
    held: int = 0
    last_held_at: datetime | None = None
    stalled_since: date | None = None
    closed_on: date | None = None
    # Holds of those acting on a concern (opaque ids): paused while any is held.
    pause_holds: list[str] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def paused(self) -> bool:
        return bool(self.pause_holds)

    @staticmethod
    def id_for(pairing_id: str) -> str:
        """One pairing opens one relationship, whatever is redelivered."""
        return f"relationship_{pairing_id}"

    @classmethod
    def open(
        cls,
        *,
        pairing_id: str,
        program_id: str,
        mode: PairingMode,
        mentor_ref: str,
        mentee_ref: str,
        topic: str,
        starts_on: date,
        weeks: int,
        planned_sessions: int,
        circle_id: str | None = None,
    ) -> Relationship:
        relationship = cls(
            id=cls.id_for(pairing_id),
            pairing_id=pairing_id,
            program_id=program_id,
            mode=mode,
            mentor_ref=mentor_ref,
            mentee_ref=mentee_ref,
            topic=topic,
            starts_on=starts_on,
            planned_end=starts_on + timedelta(weeks=weeks),
            planned_sessions=planned_sessions,
            circle_id=circle_id,
        )
        relationship.record(events.RelationshipStarted(relationship))
        return relationship

    # -- who ----------------------------------------------------------------------------

    @property
    def parties(self) -> tuple[str, str]:
        return self.mentor_ref, self.mentee_ref

    def role_of(self, ref: str) -> str:
        return "mentor" if ref == self.mentor_ref else "mentee"

    def other(self, ref: str) -> str:
        return self.mentee_ref if ref == self.mentor_ref else self.mentor_ref

    def require_party(self, ref: str) -> None:
        if ref not in self.parties:
            raise Forbidden(
                "only the two people of a relationship act on it", field="relationship_id"
            )

    def _open(self) -> None:
        if self.status is not RelationshipStatus.ACTIVE:
            raise Conflict(f"the relationship has {self.status.value}", field="relationship_id")

    def _active(self) -> None:
        """Open and not paused: what planning anything needs."""
        self._open()
        if self.paused:
            raise Conflict(
                "the program has paused this relationship for now: nothing can be planned "
                "until it resumes (either of you may still end it)",
                field="relationship_id",
            )

    def _session(self, session_id: str) -> MentoringSession:
        for s in self.sessions:
            if s.id == session_id:
                return s
        raise Rejected(f"no session {session_id} in this relationship", field="session_id")

    # -- learning agreement -------------------------------------------------------------

    def propose_agreement(
        self, ref: str, terms: AgreementTerms, now: datetime, rules_version: int = 1
    ) -> Agreement:
        """Proposing includes the program's current ground rules: both sides' agreement
        is both sides' acknowledgement of them."""
        self.require_party(ref)
        self._active()
        revision = self.agreement.revision + 1 if self.agreement else 1
        self.agreement = Agreement(
            **terms.model_dump(),
            revision=revision,
            proposed_by=ref,
            confirmed_by=[ref],
            ground_rules_version=rules_version,
        )
        return self.agreement

    def confirm_agreement(self, ref: str, revision: int, now: datetime) -> Agreement:
        self.require_party(ref)
        self._active()
        if self.agreement is None:
            raise Conflict("no agreement has been proposed yet", field="revision")
        if revision != self.agreement.revision:
            raise Conflict(
                f"revision {revision} is not the current one ({self.agreement.revision})",
                field="revision",
            )
        if ref in self.agreement.confirmed_by:
            raise Conflict("you have already confirmed this revision", field="revision")
        confirmed = [*self.agreement.confirmed_by, ref]
        self.agreement = self.agreement.model_copy(
            update={"confirmed_by": confirmed, "confirmed_at": now}
        )
        self.record(events.AgreementConfirmed(self, now))
        return self.agreement

    @property
    def agreed(self) -> bool:
        return self.agreement is not None and len(self.agreement.confirmed_by) == 2

    def readiness(
        self, program: ProgramSettings, records: Mapping[str, PreparationRecord]
    ) -> Readiness:
        """What the program asks before a session, against what its two people completed
        (`records`: by ref)."""
        roles = {ref: self.role_of(ref) for ref in self.parties}
        return readiness(program.ground_rules, program.preparation, roles, records)

    def blocker(self, readiness: Readiness) -> Blocker | None:
        """What still stands before any session, or None: the learning agreement with the
        program's current ground rules, agreed by both, and, where the program requires
        it, both people prepared."""
        if not self.agreed or self.agreement is None:
            return Blocker.AGREEMENT
        if self.agreement.ground_rules_version != readiness.rules_version:
            return Blocker.GROUND_RULES
        return Blocker.PREPARATION if readiness.unprepared else None

    def not_ready(self, readiness: Readiness) -> str | None:
        """The blocker in words."""
        blocker = self.blocker(readiness)
        if blocker is Blocker.AGREEMENT:
            return "both confirm the learning agreement before the first session"
        if blocker is Blocker.GROUND_RULES:
            return (
                f"the program's ground rules changed (version {readiness.rules_version}): "
                "propose the learning agreement again, and both agree to it with them"
            )
        if blocker is Blocker.PREPARATION:
            roles = sorted(self.role_of(r) for r in set(readiness.unprepared))
            who = "both of you have" if len(roles) == 2 else f"the {roles[0]} has"
            return (
                f"the program asks for preparation first: {who} modules still to complete "
                "(the program's Preparation page)"
            )
        return None

    def _ready(self, readiness: Readiness) -> None:
        if (problem := self.not_ready(readiness)) is not None:
            raise Conflict(problem, field="relationship_id")

    def _agreed_version(self) -> int:
        return self.agreement.ground_rules_version if self.agreement else 0

    # -- sessions -----------------------------------------------------------------------

    def _check_time(
        self,
        starts_at: datetime,
        minutes: int,
        now: datetime,
        available: AvailabilityCheck,
        busy: Callable[[str, datetime, datetime], bool],
        moving: str | None = None,
    ) -> datetime:
        if starts_at.tzinfo is None:
            raise Rejected("give the time with its UTC offset", field="starts_at")
        if not MIN_MINUTES <= minutes <= MAX_MINUTES:
            raise Rejected(f"a session lasts {MIN_MINUTES}-{MAX_MINUTES} minutes", field="minutes")
        ends_at = starts_at + timedelta(minutes=minutes)
        if starts_at <= now:
            raise Rejected("the time is in the past", field="starts_at")
        for ref in self.parties:
            if not available(ref, starts_at, ends_at):
                raise Rejected(
                    f"outside the weekly availability of the {self.role_of(ref)}",
                    field="starts_at",
                )
        for s in self.sessions:
            live = s.status in (SessionStatus.PROPOSED, SessionStatus.SCHEDULED)
            if s.id != moving and live and s.overlaps(starts_at, ends_at):
                raise Conflict("overlaps another session of this relationship", field="starts_at")
        for ref in self.parties:
            if busy(ref, starts_at, ends_at):
                raise Conflict(
                    f"the {self.role_of(ref)} has another session at that time", field="starts_at"
                )
        return ends_at

    def propose_session(
        self,
        ref: str,
        *,
        starts_at: datetime,
        minutes: int,
        format: Format,
        place: str | None,
        link: HttpUrl | None,
        now: datetime,
        available: AvailabilityCheck,
        busy: Callable[[str, datetime, datetime], bool],
        readiness: Readiness | None = None,
        group_id: str | None = None,
    ) -> MentoringSession:
        self.require_party(ref)
        self._active()
        self._ready(readiness or Readiness(self._agreed_version(), []))
        if format is Format.IN_PERSON and not place:
            raise Rejected("an in-person session needs a place", field="place")
        if format is Format.VIRTUAL and link is None:
            raise Rejected("a virtual session needs a link", field="link")
        ends_at = self._check_time(starts_at, minutes, now, available, busy)
        session = MentoringSession(
            id=new_id("session"),
            starts_at=starts_at,
            ends_at=ends_at,
            format=format,
            place=place,
            link=link,
            proposed_by=ref,
            group_id=group_id,
        )
        self.sessions = [*self.sessions, session]
        return session

    def confirm_session(
        self, ref: str, session_id: str, readiness: Readiness | None = None
    ) -> MentoringSession:
        self.require_party(ref)
        self._active()
        if readiness is not None:
            self._ready(readiness)
        session = self._session(session_id)
        if session.status is not SessionStatus.PROPOSED:
            raise Conflict(f"the session is {session.status.value}", field="session_id")
        if session.proposed_by == ref:
            raise Conflict("the other party confirms a proposed time", field="session_id")
        session.status = SessionStatus.SCHEDULED
        if session.was_scheduled:
            self.record(events.SessionRescheduled(self, session))
        else:
            self.record(events.SessionScheduled(self, session))
        session.was_scheduled = True
        return session

    def reschedule(
        self,
        ref: str,
        session_id: str,
        *,
        starts_at: datetime,
        minutes: int,
        now: datetime,
        available: AvailabilityCheck,
        busy: Callable[[str, datetime, datetime], bool],
    ) -> MentoringSession:
        self.require_party(ref)
        self._active()
        session = self._session(session_id)
        if session.status not in (SessionStatus.PROPOSED, SessionStatus.SCHEDULED):
            raise Conflict(f"the session is {session.status.value}", field="session_id")
        ends_at = self._check_time(starts_at, minutes, now, available, busy, moving=session_id)
        session.starts_at, session.ends_at = starts_at, ends_at
        session.status = SessionStatus.PROPOSED
        session.proposed_by = ref
        session.sequence += 1
        return session

    def cancel(self, ref: str, session_id: str) -> MentoringSession:
        self.require_party(ref)
        session = self._session(session_id)
        if session.status not in (SessionStatus.PROPOSED, SessionStatus.SCHEDULED):
            raise Conflict(f"the session is {session.status.value}", field="session_id")
        self._cancel(session)
        return session

    def _cancel(self, session: MentoringSession) -> None:
        session.status = SessionStatus.CANCELLED
        if session.was_scheduled:
            self.record(events.SessionCancelled(self, session))

    def record_attendance(
        self, ref: str, session_id: str, attended: Attendance, now: datetime
    ) -> MentoringSession:
        self.require_party(ref)
        session = self._session(session_id)
        if session.status is not SessionStatus.SCHEDULED:
            raise Conflict(f"the session is {session.status.value}", field="session_id")
        if now < session.ends_at:
            raise Conflict("attendance is recorded after the session ends", field="session_id")
        if ref in session.attendance:
            raise Conflict("you have already recorded this session", field="session_id")
        session.attendance = {**session.attendance, ref: attended}
        if attended is Attendance.MISSED:
            session.status = SessionStatus.MISSED
            self.record(events.SessionMissed(self, session))
        elif len(session.attendance) == 2:
            session.status = SessionStatus.HELD
            self.held += 1
            self.last_held_at = session.ends_at
            self.stalled_since = None
            self.record(events.SessionHeld(self, session))
            if self.held >= self.planned_sessions and self.status is RelationshipStatus.ACTIVE:
                self._complete(now.date(), "sessions-held")
        return session

    # -- progress and exits -------------------------------------------------------------

    def _complete(self, today: date, reason: str) -> None:
        self.status = RelationshipStatus.COMPLETED
        self.closed_on = today
        self.record(events.RelationshipCompleted(self, today, reason))

    def end(self, ref: str | None, today: date, *, withdrawn: bool = False) -> None:
        """A no-fault exit by `ref`, or (ref None) one of them left the program."""
        if ref is not None:
            self.require_party(ref)
        self._open()  # paused or not: a no-fault exit is always open to either
        for session in self.sessions:
            if session.status in (SessionStatus.PROPOSED, SessionStatus.SCHEDULED):
                self._cancel(session)
        self.status = RelationshipStatus.ENDED
        self.closed_on = today
        self.record(events.RelationshipEnded(self, today, withdrawn))

    def forget(self, ref: str) -> None:
        """`ref` left the program or was erased: the words they wrote or agreed (the
        learning agreement, where sessions took place and their links) and their own
        attendance records go. The relationship stays as pseudonymous facts (who, when,
        how many sessions) that the other party, coordinators and the report count on."""
        self.require_party(ref)
        self.agreement = None
        self.sessions = [
            s.model_copy(
                update={
                    "place": None,
                    "link": None,
                    "attendance": {k: v for k, v in s.attendance.items() if k != ref},
                }
            )
            for s in self.sessions
        ]

    def pause(self, hold: str) -> None:
        """Those acting on a concern pause it: what was planned is cancelled (each party
        is told, as for any cancellation), and nothing new can be planned."""
        if self.status is not RelationshipStatus.ACTIVE or hold in self.pause_holds:
            return  # over already, or a redelivered pause
        self.pause_holds = [*self.pause_holds, hold]
        for session in self.sessions:
            if session.status in (SessionStatus.PROPOSED, SessionStatus.SCHEDULED):
                self._cancel(session)

    def resume(self, hold: str) -> None:
        self.pause_holds = [h for h in self.pause_holds if h != hold]

    def request_rematch(self, ref: str, now: datetime) -> None:
        self.require_party(ref)
        if self.status is not RelationshipStatus.ENDED:
            raise Conflict("a rematch follows an early end", field="relationship_id")
        self.record(events.RematchRequested(self, ref, now))

    def review(self, today: date, stall_weeks: int) -> None:
        """The daily sweep: past its end date it completes; idle too long it is flagged."""
        if self.status is not RelationshipStatus.ACTIVE:
            return
        if today > self.planned_end:
            self._complete(today, "end-date-passed")
            return
        if self.paused:
            return  # idle on purpose: not stalled
        since = self.last_held_at.date() if self.last_held_at else self.starts_on
        if self.stalled_since is None and today - since >= timedelta(weeks=stall_weeks):
            self.stalled_since = today
            self.record(events.RelationshipStalled(self, today))


class PrivateNote(Aggregate):
    """A party's own note on a session: readable by its author only."""

    relationship_id: str
    session_id: str
    author_ref: str
    text: str
    written_at: datetime

    @staticmethod
    def key(relationship_id: str, session_id: str, author_ref: str) -> str:
        return f"{relationship_id}|{session_id}|{author_ref}"


class ExitRecord(Aggregate):
    """Why a relationship ended early: counted by category, never shown per person.

    Its own random id and no date: nothing in it leads back to the relationship that
    ended (whose end date is shown to coordinators)."""

    program_id: str
    reason: ExitReason

    @classmethod
    def of(cls, program_id: str, reason: ExitReason) -> ExitRecord:
        return cls(id=new_id("exit"), program_id=program_id, reason=reason)


class ProgramSettings(Aggregate):
    """What sessions knows of a program it leads, and the lead's own settings for it."""

    partner_institutions: list[str] = Field(default_factory=list)
    # The program's smallest group shown to coordinators (its terms, from identity).
    reporting_threshold: int = Field(default=5, ge=2, le=100)
    stall_weeks: int = Field(default=3, ge=1, le=26)
    ground_rules: GroundRules = Field(default_factory=GroundRules)
    preparation: Preparation = Field(default_factory=Preparation)


class Availability(Aggregate):
    """A participant's shared weekly availability for one program (from identity)."""

    program_id: str
    participant_ref: str
    time_zone: str | None = None
    slots: list[dict[str, str]] = Field(default_factory=list)

    @staticmethod
    def key(program_id: str, ref: str) -> str:
        return f"{program_id}|{ref}"


class CalendarFeed(Aggregate):
    """A participant's calendar URL, stored as the hash of its secret (the id)."""

    participant_ref: str
    created_at: datetime
    # The zone its times are written in (IANA); None: the person's shared availability's.
    time_zone: str | None = None
