"""What arrives at pairing: facts from identity and sessions, requests from people."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from telemachus.pairing.domain.model import (
    Candidate,
    CircleSizes,
    Decision,
    PairingRules,
    PairRef,
    Program,
    Proposers,
    RoundFormat,
)
from telemachus.shared.contracts.vocabulary import PairingMode, ParticipantRef
from telemachus.shared.security.tokens import Principal


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class Announced(Command):
    """A fact from another service; `announced_by` is the institution whose topic carried
    it, checked against who may state that fact."""

    announced_by: str


class RecordProgram(Announced):
    """ProgramPublished or ProgramUpdated: the full terms; pairing rules are kept."""

    program: Program
    lead_institution: str


class SetRules(Command):
    principal: Principal
    program_id: str
    rules: PairingRules


class EnterPool(Announced):
    """ParticipantEnrolled or ProfileUpdated: the whole shared profile, replacing any."""

    candidate: Candidate


class LeavePool(Announced):
    program_id: str
    participant_ref: ParticipantRef
    home_institution: str


class OpenRound(Command):
    principal: Principal
    program_id: str
    mode: PairingMode | None = Field(default=None, description="defaults to the program's mode")
    proposers: Proposers = Proposers.MENTEES
    format: RoundFormat = Field(
        default=RoundFormat.PAIRS,
        description="pairs, or circles: one junior lead with several seniors on one topic "
        "(assigned: optimal; ranked: stable)",
    )
    circle_sizes: CircleSizes = Field(
        default=CircleSizes(), description="circle rounds: seniors per circle"
    )


class PinPair(Command):
    principal: Principal
    round_id: str
    pair: PairRef


class ExcludePair(Command):
    principal: Principal
    round_id: str
    pair: PairRef


class RankCandidates(Command):
    principal: Principal
    round_id: str
    ranked: list[ParticipantRef]


class ComputeRound(Command):
    principal: Principal
    round_id: str


class PublishRound(Command):
    principal: Principal
    round_id: str


class RespondToPairing(Command):
    principal: Principal
    pairing_id: str
    decision: Decision


class ExpireOverdue(Command):
    """The deadline sweep: proposals past their answer date expire."""


class CloseRelationship(Announced):
    """RelationshipCompleted or RelationshipEnded from sessions: the places are free."""

    pairing_id: str


class RequestRematch(Announced):
    """RematchRequested from sessions: the relationship ended early, the person is free."""

    pairing_id: str
    participant_ref: ParticipantRef
