"""One translation of a person's enrolment facts, whichever version carried them: v1 with
the profile in clear (records from before v2), v2 with it sealed for the program's lead.
Pairing, sessions and feedback of the lead all consume them."""

from __future__ import annotations

from collections.abc import Callable

from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.identity import (
    EnrolmentFactsV1,
    ParticipantEnrolledV1,
    ParticipantEnrolledV2,
    ProfileUpdatedV1,
    ProfileUpdatedV2,
    SealedEnrolmentFactsV2,
)
from telemachus.shared.errors import Rejected
from telemachus.shared.runtime.consumer import Delivery
from telemachus.shared.runtime.event_commands import Translate
from telemachus.shared.security.keys import InstitutionKeys
from telemachus.shared.security.sealing import SealError

# The command the facts mean to the service, or None.
ToCommand = Callable[[EnrolmentFactsV1, Delivery], object | None]


def enrolment_translations(
    lead: str, keys: InstitutionKeys | None, to_command: ToCommand
) -> dict[type[IntegrationEvent], Translate]:
    """Translations by event type for the identity subscription of one of `lead`'s
    services (event_commands): `to_command` sees the facts in clear, of `lead`'s programs
    only."""

    def sealed(event: SealedEnrolmentFactsV2, delivery: Delivery) -> object | None:
        if event.lead_institution != lead:
            return None  # another lead's program: sealed for it, not for us
        if keys is None:
            raise RuntimeError(f"{lead} needs its keys file to open enrolment profiles")
        try:
            facts = event.opened(keys)
        except SealError as error:
            raise Rejected(f"the profile does not open here: {error}", field="profile") from None
        return to_command(facts, delivery)

    def clear(event: EnrolmentFactsV1, delivery: Delivery) -> object | None:
        return to_command(event, delivery) if event.lead_institution == lead else None

    return {
        ParticipantEnrolledV1: clear,
        ProfileUpdatedV1: clear,
        ParticipantEnrolledV2: sealed,
        ProfileUpdatedV2: sealed,
    }
