"""Notices: one fact told to one person, kept for the portal, mailed at most once."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from telemachus.shared.domain import Aggregate


class Category(StrEnum):
    """What a person may switch off by e-mail (the portal lists everything)."""

    PAIRING = "pairing"
    RELATIONSHIP = "relationship"  # started, agreement, ended
    SESSIONS = "sessions"  # session invitations, changes and cancellations
    FEEDBACK = "feedback"
    REMINDERS = "reminders"
    COORDINATION = "coordination"


class NoticeKind(StrEnum):
    PROPOSAL = "proposal"
    PROPOSAL_CLOSED = "proposal-closed"
    PAIRING_CONFIRMED = "pairing-confirmed"
    RELATIONSHIP_STARTED = "relationship-started"
    AGREEMENT_CONFIRMED = "agreement-confirmed"
    SESSION_SCHEDULED = "session-scheduled"
    SESSION_MOVED = "session-moved"
    SESSION_CANCELLED = "session-cancelled"
    FEEDBACK_DUE = "feedback-due"
    FOLLOW_UP_OPEN = "follow-up-open"  # months after the end: what lasted
    RELATIONSHIP_ENDED = "relationship-ended"
    RELATIONSHIP_PAUSED = "relationship-paused"
    RELATIONSHIP_RESUMED = "relationship-resumed"
    # Reminders, from deadlines the notifier keeps.
    PROPOSAL_ENDING = "proposal-ending"
    AGREEMENT_PENDING = "agreement-pending"
    SESSION_TOMORROW = "session-tomorrow"
    FEEDBACK_CLOSING = "feedback-closing"
    # For coordinators and the designated contact.
    RELATIONSHIP_STALLED = "relationship-stalled"
    PROPOSALS_UNANSWERED = "proposals-unanswered"
    CONCERN_REPORTED = "concern-reported"
    CONCERN_OVERDUE = "concern-overdue"

    @property
    def category(self) -> Category:
        return CATEGORY[self]

    @property
    def required(self) -> bool:
        """Sent whatever the person's settings say: a cancelled session must leave their
        calendar, and a concern must reach the person designated to act on it."""
        return self in REQUIRED

    @property
    def invites(self) -> bool:
        """Carries an iCalendar request or cancellation."""
        return self in (
            NoticeKind.SESSION_SCHEDULED,
            NoticeKind.SESSION_MOVED,
            NoticeKind.SESSION_CANCELLED,
        )


CATEGORY = {
    NoticeKind.PROPOSAL: Category.PAIRING,
    NoticeKind.PROPOSAL_CLOSED: Category.PAIRING,
    NoticeKind.PAIRING_CONFIRMED: Category.PAIRING,
    NoticeKind.RELATIONSHIP_STARTED: Category.RELATIONSHIP,
    NoticeKind.AGREEMENT_CONFIRMED: Category.RELATIONSHIP,
    NoticeKind.SESSION_SCHEDULED: Category.SESSIONS,
    NoticeKind.SESSION_MOVED: Category.SESSIONS,
    NoticeKind.SESSION_CANCELLED: Category.SESSIONS,
    NoticeKind.RELATIONSHIP_ENDED: Category.RELATIONSHIP,
    NoticeKind.RELATIONSHIP_PAUSED: Category.RELATIONSHIP,
    NoticeKind.RELATIONSHIP_RESUMED: Category.RELATIONSHIP,
    NoticeKind.FEEDBACK_DUE: Category.FEEDBACK,
    NoticeKind.FOLLOW_UP_OPEN: Category.FEEDBACK,
    NoticeKind.PROPOSAL_ENDING: Category.REMINDERS,
    NoticeKind.AGREEMENT_PENDING: Category.REMINDERS,
    NoticeKind.SESSION_TOMORROW: Category.REMINDERS,
    NoticeKind.FEEDBACK_CLOSING: Category.REMINDERS,
    NoticeKind.RELATIONSHIP_STALLED: Category.COORDINATION,
    NoticeKind.PROPOSALS_UNANSWERED: Category.COORDINATION,
    NoticeKind.CONCERN_REPORTED: Category.COORDINATION,
    NoticeKind.CONCERN_OVERDUE: Category.COORDINATION,
}
# A pause cancels sessions and stops planning: both people must know, whatever they chose.
REQUIRED = frozenset(
    {
        NoticeKind.SESSION_CANCELLED,
        NoticeKind.CONCERN_REPORTED,
        NoticeKind.CONCERN_OVERDUE,
        NoticeKind.RELATIONSHIP_PAUSED,
    }
)


@dataclass(frozen=True)
class Ref:
    """A participant, by the pseudonymous reference the event carries."""

    ref: str


@dataclass(frozen=True)
class PartiesOf:
    """Both people of a relationship (events about agreements and stalls name neither)."""

    relationship_id: str


@dataclass(frozen=True)
class Contact:
    """A role of an institution whose address is configured, not a participant: the
    lead's, unless `institution` names another (a concern goes to the reporter's home)."""

    role: Literal["coordinators", "concerns", "escalation"]
    institution: str | None = None


Recipient = Ref | PartiesOf | Contact


@dataclass(frozen=True)
class Intent:
    """That `to` should hear of `fact` (the same fact, told twice, is told once)."""

    to: Recipient
    kind: NoticeKind
    fact: str
    lead: str  # the institution whose services hold what the notice is about
    program_id: str
    target: str  # the id the portal's link needs (pairing, relationship, session, ...)
    params: dict[str, str] = field(default_factory=dict)


def notice_id(recipient: str, kind: NoticeKind, fact: str) -> str:
    """Deterministic: a redelivered, replayed or re-derived fact finds the notice it made."""
    digest = hashlib.sha256(f"{recipient}\x1f{kind}\x1f{fact}".encode()).hexdigest()
    return digest[:32]


def digest_id(recipient: str, week: str) -> str:
    """One weekly digest per person and week, however often the sweep runs."""
    return "digest-" + hashlib.sha256(f"{recipient}\x1f{week}".encode()).hexdigest()[:32]


class Notice(Aggregate):
    """What the portal lists for `recipient` (a participant id, or `contact:<address>`)."""

    recipient: str
    kind: NoticeKind
    fact: str
    lead: str
    program_id: str
    target: str
    params: dict[str, str] = Field(default_factory=dict)
    created_at: datetime
    read_at: datetime | None = None
    # How the e-mail went: not wanted, waiting for the weekly digest, waiting in the mail
    # outbox, sent, or dead-lettered.
    email: Literal["off", "digest", "queued", "sent", "dead"] = "off"


class Preferences(BaseModel):
    """Per person: which categories also come by e-mail, and how often."""

    email: dict[Category, bool] = Field(
        default_factory=lambda: dict.fromkeys(Category, True),
        description="Per category, whether its notices also come by e-mail.",
    )
    frequency: Literal["immediately", "weekly"] = Field(
        default="immediately",
        description="`weekly`: one digest e-mail a week instead of one per notice "
        "(required notices still come at once).",
    )

    def mails(self, kind: NoticeKind) -> Literal["now", "digest", "no"]:
        if kind.required:
            return "now"
        if not self.email.get(kind.category, True):
            return "no"
        return "digest" if self.frequency == "weekly" else "now"


class NoticePreferences(Preferences, Aggregate):
    """Stored by participant id."""


class Reminder(Aggregate):
    """A deadline the notifier watches: at `due_at`, `to` hear of `kind` unless cancelled."""

    kind: NoticeKind
    to: list[str]  # participant refs, or `contact:<role>`
    fact: str
    lead: str
    program_id: str
    target: str
    params: dict[str, str] = Field(default_factory=dict)
    due_at: datetime
    # The deadline itself: a reminder that could not go out before it is dropped.
    stale_after: datetime
    # What ends the wait: a pairing, relationship, session or feedback window's id.
    groups: list[str] = Field(default_factory=list)
    done: bool = False


class RelationshipSeen(Aggregate):
    """Who is in a relationship, for events that name only the relationship."""

    program_id: str
    lead: str
    mentor_ref: str
    mentee_ref: str
    topic: str
