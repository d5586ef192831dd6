"""Pools, rounds and pairings of programs this institution leads."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from telemachus.pairing.domain import events
from telemachus.shared.contracts.vocabulary import CareerStage, PairingMode, Profession
from telemachus.shared.domain import Aggregate
from telemachus.shared.errors import Conflict, Rejected

RESPONSE_WINDOW = timedelta(days=14)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(9)}"


class Program(Aggregate):
    """What pairing needs to know of a program it owns (learnt from ProgramPublished)."""

    partner_institutions: list[str]
    topics: list[str]
    pairing_mode: PairingMode
    relationship_weeks: int
    planned_sessions: int


class Offer(BaseModel):
    model_config = ConfigDict(frozen=True)
    topic: str
    proficiency: int


class Need(BaseModel):
    model_config = ConfigDict(frozen=True)
    topic: str
    priority: int


class Candidate(Aggregate):
    """A participant in a program's pool, with only the profile they consented to share."""

    program_id: str
    participant_ref: str
    home_institution: str
    profession: Profession | None = None
    career_stage: CareerStage | None = None
    topics_offered: list[Offer] = Field(default_factory=list)
    topics_sought: list[Need] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    max_relationships: int = 1

    @staticmethod
    def key(program_id: str, participant_ref: str) -> str:
        return f"{program_id}|{participant_ref}"


class PairingStatus(StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    DECLINED = "declined"


class Decision(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"


class Pairing(Aggregate):
    round_id: str
    program_id: str
    mode: PairingMode
    mentor_ref: str
    mentee_ref: str
    topic: str
    score: float
    explanation: list[str]
    relationship_weeks: int
    planned_sessions: int
    status: PairingStatus = PairingStatus.PROPOSED
    responses: dict[str, Decision] = Field(default_factory=dict)
    respond_by: datetime

    @classmethod
    def propose(
        cls,
        *,
        round_id: str,
        program: Program,
        mode: PairingMode,
        mentor_ref: str,
        mentee_ref: str,
        topic: str,
        score: float,
        explanation: list[str],
        now: datetime,
    ) -> Pairing:
        pairing = cls(
            id=new_id("pairing"),
            round_id=round_id,
            program_id=program.id,
            mode=mode,
            mentor_ref=mentor_ref,
            mentee_ref=mentee_ref,
            topic=topic,
            score=score,
            explanation=explanation,
            relationship_weeks=program.relationship_weeks,
            planned_sessions=program.planned_sessions,
            respond_by=now + RESPONSE_WINDOW,
        )
        pairing.record(events.PairingProposed(pairing))
        return pairing

    def respond(self, participant_ref: str, decision: Decision, now: datetime) -> None:
        if participant_ref not in (self.mentor_ref, self.mentee_ref):
            raise Rejected(
                "only the two people of a pairing can answer it", field="participant_ref"
            )
        if self.status is not PairingStatus.PROPOSED:
            raise Conflict(f"the pairing is already {self.status.value}")
        if now > self.respond_by:
            raise Conflict(f"answers were due by {self.respond_by.isoformat()}")
        self.responses = {**self.responses, participant_ref: decision}
        if decision is Decision.DECLINE:
            self.status = PairingStatus.DECLINED
            self.record(events.PairingDeclined(self))
        elif len(self.responses) == 2:
            self.status = PairingStatus.CONFIRMED
            self.record(events.PairingConfirmed(self, confirmed_at=now))


class Round(Aggregate):
    program_id: str
    mode: PairingMode
    engine: str
    created_at: datetime
    pairing_ids: list[str]
    # participant ref -> why nobody was proposed, in words a coordinator can act on
    unmatched: dict[str, str]
