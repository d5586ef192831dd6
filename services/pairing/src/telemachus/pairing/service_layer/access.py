"""Who may do what in pairing. The lead institution runs its programs' rounds; partners'
coordinators see their own people; a participant acts only as themselves."""

from __future__ import annotations

from telemachus.pairing.domain.model import Program
from telemachus.shared.errors import Forbidden
from telemachus.shared.security.tokens import Principal, Role


def require_lead_coordinator(principal: Principal, lead: str, program: Program) -> None:
    if principal.institution != lead or not principal.has(Role.COORDINATOR):
        raise Forbidden(
            f"only {lead}'s coordinators run the rounds of {program.id}, which {lead} leads",
            field="program_id",
        )


def visible_institutions(principal: Principal, lead: str, program: Program) -> set[str] | None:
    """The institutions whose people a coordinator may see in this program: all (None)
    for the lead's coordinators, their own for a partner's."""
    if not principal.has(Role.COORDINATOR):
        raise Forbidden("needs the coordinator role", field="program_id")
    if principal.institution == lead:
        return None
    if principal.institution in program.partner_institutions:
        return {principal.institution}
    raise Forbidden(f"{principal.institution} is not a partner of {program.id}", field="program_id")


def participant(principal: Principal) -> str:
    """The participant's own reference, as vouched for by their home issuer."""
    if not principal.has(Role.PARTICIPANT):
        raise Forbidden("needs the participant role")
    if principal.participant_ref is None:
        raise Forbidden(
            "the token carries no participant reference (claim 'ref'); ask your home "
            "institution for a token for this program"
        )
    return principal.participant_ref


def sees(refs_of: set[str] | None, ref: str) -> bool:
    return refs_of is None or ref.split(":", 1)[0] in refs_of
