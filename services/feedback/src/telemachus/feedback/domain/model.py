"""Feedback of the relationships this institution owns: windows, answers, concerns, and
the facts about programs, people, pairings and relationships that reports count.

Confidentiality is the rule here: an answer is read only by the person who gave it; a
concern (`concerns`) by its reporter and those who act on it, never by the other party.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from telemachus.feedback.domain import events
from telemachus.feedback.domain.evaluation_plan import EvaluationPlan
from telemachus.feedback.domain.instruments import Instrument, Role, WindowKind, due
from telemachus.shared.contracts.vocabulary import PairingMode
from telemachus.shared.domain import Aggregate
from telemachus.shared.errors import Conflict, Forbidden, Rejected

UNDISCLOSED = "undisclosed"  # a profession the participant did not consent to share


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(9)}"


def institution_of(ref: str) -> str:
    return ref.split(":", 1)[0]


def anonymous_ref(ref: str) -> str:
    """An unlinkable stand-in for a leaver that keeps only their institution."""
    return f"{institution_of(ref)}:anon-{secrets.token_urlsafe(12)}"


def is_anonymous(ref: str) -> bool:
    return ref.split(":", 1)[-1].startswith("anon-")


class WithdrawalPolicy(StrEnum):
    # Their answers, concerns and enrolment are deleted: they leave every count.
    ERASE = "erase"
    # Their answers stay, unlinked and without free text, in aggregates only (never in a
    # research export); concerns keep only their category and status.
    ANONYMISE = "anonymise"


class FeedbackSettings(BaseModel):
    """What a program's lead coordinators set for feedback."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    baseline_days: int = Field(default=14, ge=1, le=90, description="baseline window length")
    check_in_days: int = Field(default=7, ge=1, le=30, description="check-in window length")
    final_days: int = Field(default=21, ge=1, le=90, description="final window length")
    remind_days_before: int = Field(
        default=3, ge=0, le=30, description="a reminder this many days before a window closes"
    )
    withdrawal: WithdrawalPolicy = Field(
        default=WithdrawalPolicy.ERASE, description="what happens to a leaver's answers"
    )
    export_free_text: bool = Field(
        default=False, description="the research export includes comments (opt-in)"
    )
    concern_response_hours: int = Field(
        default=48,
        ge=1,
        le=336,
        description="a concern not acknowledged within this many hours escalates",
    )

    def window_length(self, kind: WindowKind) -> timedelta:
        """Of the windows inside a relationship; follow-ups' is the evaluation plan's."""
        days = {
            WindowKind.BASELINE: self.baseline_days,
            WindowKind.CHECK_IN: self.check_in_days,
            WindowKind.FINAL: self.final_days,
        }[kind]
        return timedelta(days=days)


class Program(Aggregate):
    """A program this institution leads, as identity published it, plus its settings."""

    title: str
    partner_institutions: list[str]
    reporting_threshold: int = 5
    settings: FeedbackSettings = FeedbackSettings()
    evaluation: EvaluationPlan = EvaluationPlan()


class Participant(Aggregate):
    """An enrolled person as reports count them: institution and profession, and the
    reporting line that keeps their concerns from their managers."""

    program_id: str
    ref: str
    institution: str
    profession: str = UNDISCLOSED
    enrolled_at: datetime
    withdrawn: bool = False
    # Their line managers, nearest first, if they shared them: kept only so that none of
    # them reads a concern this person reports. None: not shared.
    reporting_line: list[str] | None = None

    @staticmethod
    def key(program_id: str, ref: str) -> str:
        return f"{program_id}|{ref}"


class TwoParties(Aggregate):
    """Anything about one mentor and one mentee; roles belong to it, not to the people."""

    mentor_ref: str
    mentee_ref: str

    @property
    def respondents(self) -> dict[Role, str]:
        return {Role.MENTOR: self.mentor_ref, Role.MENTEE: self.mentee_ref}

    def role_of(self, ref: str) -> Role | None:
        return next((role for role, party in self.respondents.items() if party == ref), None)

    def party(self, ref: str, field: str) -> Role:
        role = self.role_of(ref)
        if role is None:
            raise Forbidden(f"you are not a party to this {field.removesuffix('_id')}", field=field)
        return role

    def replace_party(self, ref: str, anonymous: str) -> None:
        if self.mentor_ref == ref:
            self.mentor_ref = anonymous
        if self.mentee_ref == ref:
            self.mentee_ref = anonymous


class PairingOutcome(StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    EXPIRED = "expired"


class Pairing(TwoParties):
    program_id: str
    mode: PairingMode
    outcome: PairingOutcome

    def learn(self, outcome: PairingOutcome) -> None:
        """The first decision stands: an event about this pairing that arrives later, or a
        stale copy published again, never takes it back to proposed or to another answer."""
        if self.outcome is PairingOutcome.PROPOSED:
            self.outcome = outcome


class RelationshipStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    ENDED = "ended"  # early, without blame, or because a party withdrew


class Relationship(TwoParties):
    """Who mentors whom, how they were paired and how it went, with the professions the
    two shared (reports split by them, and by the institutions their references name)."""

    program_id: str
    mode: PairingMode
    mentor_profession: str = UNDISCLOSED
    mentee_profession: str = UNDISCLOSED
    topic: str
    starts_on: date
    status: RelationshipStatus = RelationshipStatus.ACTIVE
    sessions_held: int = 0
    finished_on: date | None = None

    @property
    def profession_pairing(self) -> str:
        return f"{self.mentor_profession} → {self.mentee_profession}"

    # Derived, not stored: a reference begins with its institution, anonymised ones too.
    @property
    def mentor_institution(self) -> str:
        return institution_of(self.mentor_ref)

    @property
    def mentee_institution(self) -> str:
        return institution_of(self.mentee_ref)

    @property
    def institution_pairing(self) -> str:
        return f"{self.mentor_institution} → {self.mentee_institution}"

    def finish(self, status: RelationshipStatus, on: date, sessions_held: int) -> None:
        """A relationship finishes once: a later end (a withdrawal) does not undo completion."""
        if self.status is not RelationshipStatus.ACTIVE:
            return
        self.status, self.finished_on = status, on
        self.sessions_held = max(self.sessions_held, sessions_held)


class FeedbackWindow(TwoParties):
    relationship_id: str
    program_id: str
    kind: WindowKind
    session_id: str | None = None
    months_after_end: int | None = None  # follow-ups only
    opens_at: datetime
    closes_at: datetime
    # A follow-up is scheduled when the relationship ends and opens months later.
    opened: bool = True
    reminded: list[str] = Field(default_factory=list)
    closed: bool = False

    @staticmethod
    def id_for(
        relationship_id: str,
        kind: WindowKind,
        session_id: str | None = None,
        months_after_end: int | None = None,
    ) -> str:
        suffix = f"_{session_id}" if session_id else ""
        if months_after_end is not None:
            suffix += f"_{months_after_end}m"
        return f"window_{relationship_id}_{kind.value}{suffix}"

    @classmethod
    def _for(
        cls,
        relationship: Relationship,
        kind: WindowKind,
        opens_at: datetime,
        length: timedelta,
        session_id: str | None = None,
        months_after_end: int | None = None,
    ) -> FeedbackWindow:
        return cls(
            id=cls.id_for(relationship.id, kind, session_id, months_after_end),
            relationship_id=relationship.id,
            program_id=relationship.program_id,
            kind=kind,
            session_id=session_id,
            months_after_end=months_after_end,
            mentor_ref=relationship.mentor_ref,
            mentee_ref=relationship.mentee_ref,
            opens_at=opens_at,
            closes_at=opens_at + length,
            opened=False,
        )

    @classmethod
    def open(
        cls,
        relationship: Relationship,
        kind: WindowKind,
        *,
        now: datetime,
        length: timedelta,
        session_id: str | None = None,
    ) -> FeedbackWindow:
        window = cls._for(relationship, kind, now, length, session_id)
        window.open_if_due(now)
        return window

    @classmethod
    def follow_up(
        cls, relationship: Relationship, months: int, *, opens_at: datetime, length: timedelta
    ) -> FeedbackWindow:
        """Scheduled now, opened by the sweep once `opens_at` comes."""
        return cls._for(relationship, WindowKind.FOLLOW_UP, opens_at, length, None, months)

    def open_if_due(self, now: datetime) -> None:
        if not self.opened and now >= self.opens_at:
            self.opened = True
            self.record(events.FeedbackWindowOpened(self))

    def instruments_for(self, ref: str) -> list[Instrument]:
        return due(self.kind, self.party(ref, "window_id"))

    def require_open(self, now: datetime) -> None:
        if not self.opened or now < self.opens_at:
            raise Conflict(f"this window opens at {self.opens_at.isoformat()}", field="window_id")
        if self.closed or now >= self.closes_at:
            raise Conflict(f"this window closed at {self.closes_at.isoformat()}", field="window_id")

    def remind(self, now: datetime, days_before: int, answered: set[str]) -> None:
        """Once per respondent who has not answered everything, `days_before` the close."""
        if not self.opened or self.closed:
            return
        if not self.closes_at - timedelta(days=days_before) <= now < self.closes_at:
            return  # too early, or too late: a reminder for a closed window helps no one
        for ref in self.respondents.values():
            if ref not in answered and ref not in self.reminded and not is_anonymous(ref):
                self.reminded.append(ref)
                self.record(events.FeedbackDue(self, ref))

    def close_if_due(self, now: datetime) -> None:
        if self.opened and not self.closed and now >= self.closes_at:
            self.closed = True
            self.record(events.FeedbackWindowClosed(self, now))

    def replace_party(self, ref: str, anonymous: str) -> None:
        super().replace_party(ref, anonymous)
        self.reminded = [r for r in self.reminded if r != ref]


class Response(Aggregate):
    """One person's answers to one instrument in one window; theirs alone to read."""

    window_id: str
    relationship_id: str
    program_id: str
    kind: WindowKind
    months_after_end: int | None = None
    respondent_ref: str
    role: Role
    instrument: str  # e.g. "mentor-attributes.v1"
    answers: dict[str, int]
    comment: str | None = None
    submitted_at: datetime
    anonymised: bool = False  # the respondent withdrew; counted, never exported

    @staticmethod
    def key(window_id: str, role: Role, instrument: Instrument) -> str:
        return f"{window_id}|{role.value}|{instrument.key}"

    @classmethod
    def give(
        cls,
        window: FeedbackWindow,
        respondent_ref: str,
        instrument: Instrument,
        answers: dict[str, int],
        comment: str | None,
        now: datetime,
    ) -> Response:
        window.require_open(now)
        role = window.party(respondent_ref, "window_id")
        if instrument not in window.instruments_for(respondent_ref):
            keys = ", ".join(i.key for i in window.instruments_for(respondent_ref))
            raise Rejected(
                f"{instrument.key} is not asked of the {role.value} in a {window.kind.value} "
                f"window; asked: {keys}",
                field="instrument",
            )
        instrument.check(answers, comment)
        return cls(
            id=cls.key(window.id, role, instrument),
            window_id=window.id,
            relationship_id=window.relationship_id,
            program_id=window.program_id,
            kind=window.kind,
            months_after_end=window.months_after_end,
            respondent_ref=respondent_ref,
            role=role,
            instrument=instrument.key,
            answers=answers,
            comment=comment or None,
            submitted_at=now,
        )

    def amend(self, answers: dict[str, int], comment: str | None, now: datetime) -> None:
        self.answers, self.comment, self.submitted_at = answers, comment or None, now

    def anonymise(self, anonymous: str) -> None:
        self.respondent_ref, self.comment, self.anonymised = anonymous, None, True
