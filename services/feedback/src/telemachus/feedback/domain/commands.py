"""What arrives at feedback."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class OpenBaselineWindow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    relationship_id: str
    program_id: str
    respondents: list[str]
