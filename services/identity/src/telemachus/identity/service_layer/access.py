"""Who may do what in identity. Every refusal names the rule; nothing is half-done."""

from __future__ import annotations

from telemachus.identity.domain.participants import Participant
from telemachus.shared.errors import Forbidden
from telemachus.shared.security.tokens import Principal, Role

READERS = (Role.COORDINATOR, Role.INTEGRATOR, Role.AUDITOR)


def require_home(principal: Principal, institution: str) -> None:
    """Identity serves its own institution's staff; other institutions' tokens stop here."""
    if principal.institution != institution:
        raise Forbidden(
            f"this is {institution}'s identity service; {principal.institution}'s people and "
            "coordinators use their own"
        )


def require_role(principal: Principal, *roles: Role) -> None:
    if not principal.has(*roles):
        wanted = " or ".join(r.value for r in roles)
        raise Forbidden(f"needs the {wanted} role")


def may_read(principal: Principal, participant: Participant) -> None:
    if principal.has(*READERS) or is_self(principal, participant):
        return
    raise Forbidden("a participant may read only their own record", field="participant_id")


def may_change(principal: Principal, participant: Participant) -> None:
    """Coordinators manage their institution's people; a participant only themselves."""
    if principal.has(Role.COORDINATOR) or is_self(principal, participant):
        return
    raise Forbidden("a participant may change only their own record", field="participant_id")


def require_self(principal: Principal, participant: Participant, what: str) -> None:
    """Consent and private data: only the person, not a coordinator on their behalf."""
    if not is_self(principal, participant):
        raise Forbidden(f"only the participant themselves may {what}", field="participant_id")


def is_self(principal: Principal, participant: Participant) -> bool:
    return principal.has(Role.PARTICIPANT) and principal.subject == participant.subject
