"""Access rules every service of a program's lead institution shares.

The lead's coordinators see all of a program; a partner's coordinators see their own
institution's people; a participant acts as the person their home issuer vouched for
(claim `ref`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from telemachus.shared.errors import Forbidden, Rejected
from telemachus.shared.security.tokens import Principal, Role

Scope = set[str] | None  # institutions whose people a coordinator may see; None = all


def participant_ref(principal: Principal) -> str:
    """The participant's own reference, as vouched for by their home issuer."""
    if not principal.has(Role.PARTICIPANT):
        raise Forbidden("needs the participant role")
    if principal.participant_ref is None:
        raise Forbidden(
            "the token carries no participant reference (claim 'ref'); ask your home "
            "institution for a token for this program"
        )
    return principal.participant_ref


def acting_party(principal: Principal) -> str | None:
    """The reference of a participant acting for themselves, else None.

    A `ref` claim alone proves nothing about the caller's role: an integrator's or a
    coordinator's token may carry one, and must not open a participant's own records."""
    return principal.participant_ref if principal.has(Role.PARTICIPANT) else None


def coordinator_scope(
    principal: Principal, lead: str, partners: Iterable[str], program_id: str
) -> Scope:
    if not principal.has(Role.COORDINATOR):
        raise Forbidden("needs the coordinator role", field="program_id")
    if principal.institution == lead:
        return None
    if principal.institution in set(partners):
        return {principal.institution}
    raise Forbidden(f"{principal.institution} is not a partner of {program_id}", field="program_id")


def require_lead_coordinator(principal: Principal, lead: str, program_id: str) -> None:
    if principal.institution != lead or not principal.has(Role.COORDINATOR):
        raise Forbidden(
            f"only {lead}'s coordinators manage {program_id}, which {lead} leads",
            field="program_id",
        )


def sees(scope: Scope, ref: str) -> bool:
    return scope is None or ref.split(":", 1)[0] in scope


class AboutAPerson(Protocol):
    """An identity fact (enrolment, profile, withdrawal): frozen events, read-only here."""

    @property
    def participant_ref(self) -> str: ...
    @property
    def home_institution(self) -> str: ...
    @property
    def lead_institution(self) -> str: ...


def for_our_program(event: AboutAPerson, origin: str, lead: str) -> bool:
    """False for another institution's program (not ours to handle); for ours, the fact
    must come from the person's home (`origin`: whose topic carried it), else Rejected."""
    if event.lead_institution != lead:
        return False
    require_home(event.home_institution, event.participant_ref, origin)
    return True


def require_home(home_institution: str, participant_ref: str, origin: str) -> None:
    """Only a person's home institution states facts about them (`origin`: whose topic
    carried the event); anything else is refused, and so dead-lettered by a consumer."""
    if home_institution != origin or not participant_ref.startswith(f"{origin}:"):
        raise Rejected(
            f"{origin} may not state facts about {participant_ref}", field="participant_ref"
        )


def require_lead(program_id: str, origin: str) -> None:
    """Only a program's lead (the institution its id begins with) states its pairing,
    relationship and feedback facts."""
    if not program_id.startswith(f"{origin}:"):
        raise Rejected(f"{origin} does not lead {program_id}", field="program_id")
