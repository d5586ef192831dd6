"""Programs, pools, rounds and pairings of the programs this institution leads."""

from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from telemachus.pairing.domain import events
from telemachus.shared.contracts.vocabulary import (
    CareerStage,
    PairingMode,
    ParticipantRef,
    Profession,
    Weekday,
)
from telemachus.shared.domain import Aggregate
from telemachus.shared.errors import Conflict, Forbidden, Rejected


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(9)}"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScoreWeights(Frozen):
    """Points per term of a pair's score; integers, so totals compare exactly."""

    topic: int = Field(default=1, ge=0, le=100, description="x priority x proficiency")
    availability: int = Field(default=1, ge=0, le=100, description="per weekly hour in common")
    availability_cap: int = Field(default=8, ge=0, le=40, description="hours counted at most")
    different_profession: int = Field(default=3, ge=0, le=100)
    different_institution: int = Field(default=3, ge=0, le=100)
    shared_language: int = Field(default=2, ge=0, le=100)


class Objective(StrEnum):
    MOST_MATCHED = "most-matched"
    SCORE = "score"


class Proposers(StrEnum):
    MENTEES = "mentees"
    MENTORS = "mentors"


class RoundFormat(StrEnum):
    PAIRS = "pairs"
    CIRCLES = "circles"  # one junior lead with several seniors on one topic


class CircleSizes(Frozen):
    """How many seniors a circle holds: it forms only with at least `smallest`."""

    smallest: int = Field(default=2, ge=2, le=5)
    largest: int = Field(default=5, ge=2, le=5)

    @model_validator(mode="after")
    def _ordered(self) -> CircleSizes:
        if self.smallest > self.largest:
            raise ValueError(f"smallest ({self.smallest}) is above largest ({self.largest})")
        return self


class PairingRules(Frozen):
    """How a program pairs people; set by the lead institution's coordinators."""

    weights: ScoreWeights = ScoreWeights()
    min_overlap_hours: int = Field(default=1, ge=0, le=40)
    allow_equal_stage_across_professions: bool = False
    exclude_same_department: bool = False
    objective: Objective = Objective.MOST_MATCHED
    respond_within_days: int = Field(default=14, ge=1, le=90)


class Program(Aggregate):
    """What pairing needs to know of a program it leads (from ProgramPublished/Updated)."""

    partner_institutions: list[str]
    topics: list[str]
    pairing_mode: PairingMode
    relationship_weeks: int
    planned_sessions: int
    rules: PairingRules = PairingRules()

    def institutions(self, lead: str) -> set[str]:
        return {lead, *self.partner_institutions}


class Offer(Frozen):
    topic: str
    proficiency: int


class Need(Frozen):
    topic: str
    priority: int


class Slot(Frozen):
    day: Weekday
    start: time
    end: time


class Candidate(Aggregate):
    """A participant in a program's pool, with only the profile they consented to share."""

    program_id: str
    participant_ref: str
    home_institution: str
    profession: Profession | None = None
    career_stage: CareerStage | None = None
    department_code: str | None = None
    reporting_line: list[str] = Field(default_factory=list)
    topics_offered: list[Offer] = Field(default_factory=list)
    topics_sought: list[Need] = Field(default_factory=list)
    time_zone: str | None = None
    slots: list[Slot] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    max_relationships: int = 1

    @staticmethod
    def key(program_id: str, participant_ref: str) -> str:
        return f"{program_id}|{participant_ref}"


class PairingStatus(StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"  # one of them left the program before both accepted
    ENDED = "ended"  # confirmed, then ended early with a rematch request

    @property
    def live(self) -> bool:
        """Holds a place of both people."""
        return self in (PairingStatus.PROPOSED, PairingStatus.CONFIRMED)


class Decision(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"


class ScoreTerm(Frozen):
    name: str
    points: int
    detail: str


class Explanation(Frozen):
    topic: str
    score: int
    terms: list[ScoreTerm]
    rules: list[str] = Field(description="the eligibility rules the pair passed")

    def lines(self) -> list[str]:
        return [f"{t.name} +{t.points}: {t.detail}" for t in self.terms]


class Pairing(Aggregate):
    round_id: str
    program_id: str
    mode: PairingMode
    mentor_ref: str
    mentee_ref: str
    topic: str
    score: int
    explanation: Explanation
    pinned: bool = False
    # The circle this pairing is one seat of (circle rounds): its lead is the mentor.
    circle_id: str | None = None
    why_this_circle: str | None = None
    relationship_weeks: int
    planned_sessions: int
    status: PairingStatus = PairingStatus.PROPOSED
    responses: dict[str, Decision] = Field(default_factory=dict)
    respond_by: datetime
    closed_at: datetime | None = None

    def involves(self, ref: str) -> bool:
        return ref in (self.mentor_ref, self.mentee_ref)

    def respond(self, participant_ref: str, decision: Decision, now: datetime) -> None:
        if not self.involves(participant_ref):
            raise Forbidden("only the two people of a pairing can answer it", field="pairing_id")
        if self.status is not PairingStatus.PROPOSED:
            raise Conflict(f"the pairing is already {self.status.value}", field="pairing_id")
        if now > self.respond_by:
            raise Conflict(f"answers were due by {self.respond_by.isoformat()}", field="pairing_id")
        if participant_ref in self.responses:
            raise Conflict("you have already answered this pairing", field="pairing_id")
        self.responses = {**self.responses, participant_ref: decision}
        if decision is Decision.DECLINE:
            self._close(PairingStatus.DECLINED, now)
            self.record(events.PairingDeclined(self, reason="declined", at=now))
        elif len(self.responses) == 2:
            self.status = PairingStatus.CONFIRMED
            self.closed_at = now
            self.record(events.PairingConfirmed(self, confirmed_at=now))

    def expire(self, now: datetime) -> bool:
        if self.status is not PairingStatus.PROPOSED or now <= self.respond_by:
            return False
        self._close(PairingStatus.EXPIRED, now)
        self.record(events.PairingExpired(self, at=now))
        return True

    def withdraw(self, now: datetime) -> None:
        """One of them left the program."""
        if self.status is PairingStatus.PROPOSED:
            self._close(PairingStatus.WITHDRAWN, now)
            self.record(events.PairingDeclined(self, reason="withdrawn", at=now))
        elif self.status is PairingStatus.CONFIRMED:
            self._close(PairingStatus.ENDED, now)

    def end(self, now: datetime) -> None:
        """The relationship ended early (no-fault exit); its places are free again."""
        if self.status is PairingStatus.CONFIRMED:
            self._close(PairingStatus.ENDED, now)

    def _close(self, status: PairingStatus, now: datetime) -> None:
        self.status = status
        self.closed_at = now


class RoundStatus(StrEnum):
    DRAFT = "draft"  # collecting pins, exclusions and rankings
    REVIEW = "review"  # computed; the coordinator checks proposals and the unmatched
    PUBLISHED = "published"


class PairRef(Frozen):
    mentor_ref: ParticipantRef
    mentee_ref: ParticipantRef


class ProposedPair(Frozen):
    mentor_ref: str
    mentee_ref: str
    topic: str
    score: int
    explanation: Explanation
    pinned: bool = False
    circle_id: str | None = None
    why_this_circle: str | None = None


class Round(Aggregate):
    program_id: str
    mode: PairingMode
    proposers: Proposers = Proposers.MENTEES
    format: RoundFormat = RoundFormat.PAIRS
    circle_sizes: CircleSizes | None = None  # circle rounds
    status: RoundStatus = RoundStatus.DRAFT
    created_at: datetime
    created_by: str
    pins: list[PairRef] = Field(default_factory=list)
    exclusions: list[PairRef] = Field(default_factory=list)
    # participant ref -> the refs they rank, best first (ranked and mixed modes)
    rankings: dict[str, list[str]] = Field(default_factory=dict)
    engine: str | None = None
    computed_at: datetime | None = None
    pool_size: int = 0
    proposals: list[ProposedPair] = Field(default_factory=list)
    # participant ref -> why nobody was proposed, in words a coordinator can act on
    unmatched: dict[str, str] = Field(default_factory=dict)
    published_at: datetime | None = None
    pairing_ids: list[str] = Field(default_factory=list)

    def forget(self, ref: str) -> None:
        """`ref` left the program: whom they ranked, and why they were unmatched, go. What
        was proposed stays (pseudonymous refs): the pairing history programs evaluate."""
        self.rankings = {k: v for k, v in self.rankings.items() if k != ref}
        self.unmatched = {k: v for k, v in self.unmatched.items() if k != ref}

    def _editable(self) -> None:
        if self.status is RoundStatus.PUBLISHED:
            raise Conflict("the round is published; open a new round", field="round_id")

    def _changed(self) -> None:
        """Any change to the inputs sends a computed round back to draft."""
        self.status = RoundStatus.DRAFT
        self.proposals = []
        self.unmatched = {}

    def pin(self, pair: PairRef) -> None:
        self._editable()
        if self.format is RoundFormat.CIRCLES:
            raise Conflict("this round forms circles; pins are for pair rounds", field="round_id")
        if pair in self.exclusions:
            raise Conflict("this pair is excluded; it cannot also be pinned", field="mentee_ref")
        if any(p.mentee_ref == pair.mentee_ref for p in self.pins):
            raise Conflict(f"{pair.mentee_ref} is already pinned", field="mentee_ref")
        self.pins = [*self.pins, pair]
        self._changed()

    def exclude(self, pair: PairRef) -> None:
        self._editable()
        if pair in self.pins:
            raise Conflict("this pair is pinned; it cannot also be excluded", field="mentee_ref")
        if pair not in self.exclusions:
            self.exclusions = [*self.exclusions, pair]
        self._changed()

    def rank(self, participant_ref: str, ranked: list[str]) -> None:
        self._editable()
        if self.mode is PairingMode.ASSIGNED:
            raise Rejected("this round is assigned: participants do not rank", field="ranked")
        if participant_ref in ranked:
            raise Rejected("a person cannot rank themselves", field="ranked")
        if len(set(ranked)) != len(ranked):
            raise Rejected("each person may be ranked once", field="ranked")
        self.rankings = {**self.rankings, participant_ref: ranked}
        self._changed()

    def record_outcome(
        self,
        engine: str,
        pool_size: int,
        proposals: list[ProposedPair],
        unmatched: dict[str, str],
        now: datetime,
    ) -> None:
        self._editable()
        self.engine = engine
        self.pool_size = pool_size
        self.proposals = proposals
        self.unmatched = unmatched
        self.computed_at = now
        self.status = RoundStatus.REVIEW

    def publish(self, program: Program, now: datetime) -> list[Pairing]:
        if self.status is not RoundStatus.REVIEW:
            raise Conflict(
                f"a round is published from review, and this one is {self.status.value}: "
                "compute it first",
                field="round_id",
            )
        respond_by = now + timedelta(days=program.rules.respond_within_days)
        pairings = []
        for p in self.proposals:
            pairing = Pairing(
                id=new_id("pairing"),
                round_id=self.id,
                program_id=self.program_id,
                mode=self.mode,
                mentor_ref=p.mentor_ref,
                mentee_ref=p.mentee_ref,
                topic=p.topic,
                score=p.score,
                explanation=p.explanation,
                pinned=p.pinned,
                circle_id=p.circle_id,
                why_this_circle=p.why_this_circle,
                relationship_weeks=program.relationship_weeks,
                planned_sessions=program.planned_sessions,
                respond_by=respond_by,
            )
            pairing.record(events.PairingProposed(pairing))
            pairings.append(pairing)
        self.pairing_ids = [p.id for p in pairings]
        self.status = RoundStatus.PUBLISHED
        self.published_at = now
        self.record(events.RoundPublished(self))
        return pairings
