"""Domain events -> wire events. Only consented profile fields leave the institution."""

from __future__ import annotations

from telemachus.identity.domain import events
from telemachus.identity.domain.model import Participant, ShareableField
from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.identity import (
    ParticipantEnrolledV1,
    ProgramPublishedV1,
    SharedProfileV1,
)

PUBLISHED_EVENTS: list[type[IntegrationEvent]] = [ProgramPublishedV1, ParticipantEnrolledV1]


def shared_profile(participant: Participant, consented: list[ShareableField]) -> SharedProfileV1:
    allowed = {field.value for field in consented}
    profile = participant.model_dump(mode="json", include=allowed)
    return SharedProfileV1.model_validate(profile)


def to_wire(event: object) -> IntegrationEvent | None:
    match event:
        case events.ProgramPublished(program=program):
            return ProgramPublishedV1(
                program_id=program.id,
                **program.model_dump(exclude={"id", "version"}),
            )
        case events.ParticipantEnrolled(
            participant=participant, program=program, enrolment=enrolment
        ):
            return ParticipantEnrolledV1(
                participant_ref=participant.ref,
                home_institution=participant.home_institution,
                program_id=program.id,
                lead_institution=program.lead_institution,
                consented_fields=[f.value for f in enrolment.consented_fields],
                profile=shared_profile(participant, enrolment.consented_fields),
            )
    return None
