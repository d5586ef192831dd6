"""Who is asking about a concern, from their token and the program: the facts the
domain's reading rule (`Concern.refusal`) needs, and nothing of the token itself."""

from __future__ import annotations

from telemachus.feedback.domain.concerns import Concern, Reader
from telemachus.feedback.domain.model import Program
from telemachus.shared.errors import Forbidden
from telemachus.shared.security.access import coordinator_scope, sees
from telemachus.shared.security.tokens import Principal, Role


def reader(principal: Principal, lead: str, program: Program, concern: Concern) -> Reader:
    sees_reporter = False
    if principal.has(Role.COORDINATOR):
        try:
            scope = coordinator_scope(principal, lead, program.partner_institutions, program.id)
        except Forbidden:
            scope = set()  # a coordinator of an institution outside the program
        sees_reporter = sees(scope, concern.reporter_ref)
    return Reader(
        institution=principal.institution,
        # Any ref the token carries, whatever its roles: more refs only exclude more.
        ref=principal.participant_ref,
        vouched=principal.vouched,
        safeguarding=principal.has(Role.SAFEGUARDING),
        sees_reporter=sees_reporter,
    )
