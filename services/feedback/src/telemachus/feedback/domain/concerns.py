"""Confidential concerns and who may act on them.

A concern is routed to the reporter's home institution: its safeguarding contacts act on
it, with a deadline to respond; unanswered by then, it escalates. Nobody who is a party to
the relationship or in the reporter's reporting line ever reads it, whatever their role
(the junior reporting must be safe from the people with power over them). The reporter
follows its progress without learning who acted or who else was told."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from telemachus.feedback.domain import events
from telemachus.feedback.domain.instruments import Role
from telemachus.feedback.domain.model import Relationship, institution_of, new_id
from telemachus.shared.domain import Aggregate
from telemachus.shared.errors import Conflict, Forbidden, Rejected


class ConcernCategory(StrEnum):
    POWER_IMBALANCE = "power-imbalance"
    LACK_OF_CONFIDENCE = "lack-of-confidence"
    BOUNDARY = "boundary"
    TIME_BURDEN = "time-burden"
    OTHER = "other"


class ConcernStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in-progress"
    RESOLVED = "resolved"


class ConcernOutcome(StrEnum):
    """How a resolved concern ended, in the words a safeguarding log uses."""

    SUPPORTED = "supported"  # the reporter was supported; the relationship goes on
    RELATIONSHIP_ENDED = "relationship-ended"  # ended without fault, re-matching offered
    REFERRED = "referred"  # to a formal process (HR, occupational health, professional body)
    NO_FURTHER_ACTION = "no-further-action"


class ConcernUpdate(BaseModel):
    """One step taken on a concern: a status change or an action, with its note."""

    status: ConcernStatus
    at: datetime
    by: str  # <institution>:coordinator-<code>, never the actor's subject
    note: str | None = None


@dataclass(frozen=True)
class Reader:
    """Someone asking to read or act on a concern, as their token says.

    `ref` is their own participant reference when their home roster knows them (a
    coordinator or contact who is also a participant, or a line manager): the only way
    to tell that they are a party or in the reporter's reporting line."""

    institution: str
    ref: str | None
    vouched: bool  # their home's identity service checked its roster for `ref`
    safeguarding: bool  # a safeguarding contact their institution named (role)
    sees_reporter: bool  # a coordinator whose scope covers the reporter's institution


class Concern(Aggregate):
    program_id: str
    relationship_id: str
    reporter_ref: str
    reporter_role: Role
    category: ConcernCategory
    text: str | None = None
    status: ConcernStatus = ConcernStatus.OPEN
    reported_at: datetime
    updates: list[ConcernUpdate] = Field(default_factory=list)
    # Defaults keep concerns stored before deadlines existed readable.
    respond_by: datetime | None = None
    escalated_at: datetime | None = None
    outcome: ConcernOutcome | None = None
    # Who must never read it: both parties and the reporter's line managers (None: the
    # reporter did not share them). Concerns stored before get theirs at start.
    parties: list[str] = Field(default_factory=list)
    reporting_line: list[str] | None = None
    relationship_paused: bool = False  # by those acting on it, until resolved or resumed
    # Its hold on a paused relationship, random: the events that carry it cannot be tied
    # to the concern's own (whose id is public).
    hold_id: str | None = None

    @classmethod
    def report(
        cls,
        relationship: Relationship,
        reporter_ref: str,
        category: ConcernCategory,
        text: str | None,
        now: datetime,
        respond_within: timedelta = timedelta(hours=48),
        reporting_line: list[str] | None = None,
    ) -> Concern:
        concern = cls(
            id=new_id("concern"),
            program_id=relationship.program_id,
            relationship_id=relationship.id,
            reporter_ref=reporter_ref,
            reporter_role=relationship.party(reporter_ref, "relationship_id"),
            category=category,
            text=text or None,
            reported_at=now,
            respond_by=now + respond_within,
            parties=[relationship.mentor_ref, relationship.mentee_ref],
            reporting_line=reporting_line,
        )
        concern.record(events.ConcernReported(concern))
        return concern

    @property
    def institution(self) -> str:
        """Whose safeguarding contacts act on it: the reporter's home (an anonymised
        reporter's stand-in keeps it)."""
        return institution_of(self.reporter_ref)

    @property
    def excluded(self) -> set[str]:
        return {*self.parties, *(self.reporting_line or [])}

    def refusal(self, reader: Reader) -> str | None:
        """Why this reader may not read or act on this concern, or None if they may."""
        if reader.ref is not None and reader.ref in self.excluded:
            return (
                "you are a party to this relationship or in the reporter's reporting line: "
                "a concern is never read by them"
            )
        if not reader.vouched:
            return (
                "sign in through the portal or exchange your token at your identity service: "
                "a concern opens only to a token that says who you are on your roster"
            )
        if reader.safeguarding and reader.institution == self.institution:
            return None
        if not reader.sees_reporter:
            return (
                f"this concern is for {self.institution}'s safeguarding contacts and the "
                "coordinators who see its reporter"
            )
        if (
            self.reporting_line is None
            and reader.ref is not None
            and institution_of(reader.ref) == self.institution
        ):
            # Line managers are on the reporter's home roster; unknown line, no chance.
            return (
                "the reporter's reporting line is not known here, so only their "
                "institution's safeguarding contacts read it"
            )
        return None

    def check_reader(self, reader: Reader) -> None:
        if (why := self.refusal(reader)) is not None:
            raise Forbidden(why, field="concern_id")

    def forget(self, ref: str, anonymous: str) -> None:
        """`ref` left the program and keeps only an unlinkable stand-in here. Their own
        concern also loses its text and their line managers (who would point at them): the
        reading rule then treats the line as unknown."""
        self.parties = [anonymous if p == ref else p for p in self.parties]
        if ref == self.reporter_ref:
            self.reporter_ref, self.text, self.reporting_line = anonymous, None, None

    def follow_up(
        self,
        status: ConcernStatus,
        by: str,
        note: str | None,
        now: datetime,
        outcome: ConcernOutcome | None = None,
        pause: bool | None = None,
    ) -> None:
        """A step; `pause` True pauses the relationship, False resumes it. Resolving
        resumes it too, unless the relationship ended."""
        if self.status is ConcernStatus.RESOLVED:
            raise Conflict("this concern is resolved", field="status")
        if status is ConcernStatus.OPEN:
            raise Rejected("a concern cannot be reopened by a coordinator", field="status")
        if (status is ConcernStatus.RESOLVED) != (outcome is not None):
            raise Rejected(
                "an outcome is recorded when, and only when, a concern is resolved",
                field="outcome",
            )
        if status is ConcernStatus.RESOLVED and pause:
            raise Rejected("a resolved concern cannot pause its relationship", field="pause")
        self.status, self.outcome = status, outcome
        self.updates.append(ConcernUpdate(status=status, at=now, by=by, note=note))
        if status is ConcernStatus.RESOLVED and outcome is not ConcernOutcome.RELATIONSHIP_ENDED:
            pause = False
        if pause is True and not self.relationship_paused:
            self.relationship_paused = True
            self.hold_id = self.hold_id or new_id("hold")
            self.record(events.RelationshipPaused(self, now))
        elif pause is False and self.relationship_paused:
            self.relationship_paused = False
            self.record(events.RelationshipResumed(self, now))

    @property
    def acknowledged_at(self) -> datetime | None:
        return self.updates[0].at if self.updates else None

    def overdue(self, now: datetime) -> bool:
        """Nobody has answered it by its deadline and it has not been escalated yet."""
        return (
            self.respond_by is not None
            and self.acknowledged_at is None
            and self.escalated_at is None
            and now >= self.respond_by
        )

    def escalate(self, now: datetime) -> None:
        if not self.overdue(now):
            return
        self.escalated_at = now
        self.record(events.ConcernEscalated(self))


class ConcernStep(BaseModel):
    status: ConcernStatus
    at: datetime


class ConcernProgress(BaseModel):
    """What the reporter sees of their concern: where it stands, not who acted or who
    else was told (no actor, no note, no escalation contact)."""

    id: str
    program_id: str
    relationship_id: str
    category: ConcernCategory
    text: str | None
    reported_at: datetime
    respond_by: datetime | None
    status: ConcernStatus
    steps: list[ConcernStep]
    outcome: ConcernOutcome | None
    escalated: bool = Field(description="passed on because no one answered by the deadline")
    relationship_paused: bool

    @classmethod
    def of(cls, concern: Concern) -> ConcernProgress:
        return cls(
            **concern.model_dump(
                include={
                    "id",
                    "program_id",
                    "relationship_id",
                    "category",
                    "text",
                    "reported_at",
                    "respond_by",
                    "status",
                    "outcome",
                    "relationship_paused",
                }
            ),
            steps=[ConcernStep(status=u.status, at=u.at) for u in concern.updates],
            escalated=concern.escalated_at is not None,
        )
