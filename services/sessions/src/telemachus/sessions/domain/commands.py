"""What arrives at sessions."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from telemachus.shared.contracts.vocabulary import PairingMode


class OpenRelationship(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    pairing_id: str
    program_id: str
    mode: PairingMode
    mentor_ref: str
    mentee_ref: str
    topic: str
    starts_on: date
    weeks: int
    planned_sessions: int
