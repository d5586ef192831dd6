"""One handler for a person's enrolment facts, whichever version carried them: v1 with
the profile in clear (records from before v2), v2 with it sealed for the program's lead.
Pairing, sessions and feedback of the lead all consume them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

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
from telemachus.shared.runtime.consumer import Delivery, EventHandler
from telemachus.shared.security.keys import InstitutionKeys
from telemachus.shared.security.sealing import SealError

FactsHandler = Callable[[EnrolmentFactsV1, Delivery], Awaitable[None]]


def enrolment_handlers(
    lead: str, keys: InstitutionKeys | None, handle: FactsHandler
) -> dict[type[IntegrationEvent], EventHandler]:
    """Handlers by event type for the identity subscription of one of `lead`'s services:
    `handle` sees the facts in clear, of `lead`'s programs only."""

    async def sealed(event: SealedEnrolmentFactsV2, delivery: Delivery) -> None:
        if event.lead_institution != lead:
            return  # another lead's program: sealed for it, not for us
        if keys is None:
            raise RuntimeError(f"{lead} needs its keys file to open enrolment profiles")
        try:
            facts = event.opened(keys)
        except SealError as error:
            raise Rejected(f"the profile does not open here: {error}", field="profile") from None
        await handle(facts, delivery)

    async def clear(event: EnrolmentFactsV1, delivery: Delivery) -> None:
        if event.lead_institution == lead:
            await handle(event, delivery)

    return {
        ParticipantEnrolledV1: clear,
        ProfileUpdatedV1: clear,
        ParticipantEnrolledV2: sealed,
        ProfileUpdatedV2: sealed,
    }
