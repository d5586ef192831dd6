"""A coordinator invites people to a program; each person decides for themselves.

An invitation shares nothing: no event is published and no other institution learns of it.
Only the person's acceptance, with the fields they consent to share, enrols them (and only
then is `ParticipantEnrolled` published). A declined or expired invitation is deleted,
so nothing of it remains.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from telemachus.shared.domain import Aggregate
from telemachus.shared.errors import Conflict

DEFAULT_DAYS = 21


class Invitation(Aggregate):
    """One per person and program (a unique index): inviting again changes nothing."""

    program_id: str
    participant_id: str
    invited_at: datetime
    expires_at: datetime
    # The coordinator who invited (their subject at this institution): shown to the person.
    invited_by: str = Field(max_length=300)

    @classmethod
    def issue(
        cls, program_id: str, participant_id: str, invited_by: str, now: datetime, days: int
    ) -> Invitation:
        return cls(
            id=f"inv_{secrets.token_urlsafe(12)}",
            program_id=program_id,
            participant_id=participant_id,
            invited_at=now,
            expires_at=now + timedelta(days=days),
            invited_by=invited_by,
        )

    def check_open(self, now: datetime) -> None:
        if now >= self.expires_at:
            raise Conflict(
                f"the invitation expired at {self.expires_at.isoformat()}; ask the "
                "coordinator for a new one",
                field="invitation_id",
            )


class InvitationSummary(BaseModel):
    """What an invitation of a cohort did, person by person (record ids)."""

    invited: list[str] = Field(default_factory=list)
    already_invited: list[str] = Field(default_factory=list)
    already_enrolled: list[str] = Field(default_factory=list)
    unknown: list[str] = Field(
        default_factory=list, description="ids or e-mails of no one on this roster"
    )
