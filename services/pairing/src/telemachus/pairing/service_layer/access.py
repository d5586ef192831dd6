"""Who may do what in pairing: the shared rules, applied to a program pairing holds."""

from __future__ import annotations

from telemachus.pairing.domain.model import Program
from telemachus.shared.security import access
from telemachus.shared.security.access import acting_party, sees
from telemachus.shared.security.access import participant_ref as participant
from telemachus.shared.security.tokens import Principal

__all__ = [
    "acting_party",
    "participant",
    "require_lead_coordinator",
    "sees",
    "visible_institutions",
]


def require_lead_coordinator(principal: Principal, lead: str, program: Program) -> None:
    access.require_lead_coordinator(principal, lead, program.id)


def visible_institutions(principal: Principal, lead: str, program: Program) -> set[str] | None:
    return access.coordinator_scope(principal, lead, program.partner_institutions, program.id)
