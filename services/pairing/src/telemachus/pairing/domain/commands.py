"""What arrives at pairing: facts from identity, requests from coordinators and participants."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from telemachus.pairing.domain.model import Candidate, Decision, Program
from telemachus.shared.contracts.vocabulary import PairingMode, ParticipantRef


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RecordProgram(Command):
    program: Program


class AddCandidate(Command):
    candidate: Candidate


class RunRound(Command):
    program_id: str
    mode: PairingMode | None = Field(default=None, description="defaults to the program's mode")


class RespondToPairing(Command):
    pairing_id: str
    participant_ref: ParticipantRef
    decision: Decision
