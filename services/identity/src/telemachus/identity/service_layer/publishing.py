"""Domain events -> wire events. Only consented profile fields leave the institution;
contact cards never go on the event log (the counterpart reads them from us)."""

from __future__ import annotations

from telemachus.identity.domain import events
from telemachus.identity.domain.participants import (
    SHARED_ATTRIBUTE,
    Enrolment,
    Participant,
    ShareableField,
)
from telemachus.shared.clock import Clock, utc_now
from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.identity import (
    ParticipantEnrolledV2,
    ParticipantWithdrawnV1,
    ProfileUpdatedV2,
    ProgramPublishedV1,
    ProgramUpdatedV1,
    SharedProfileV1,
    profile_context,
)
from telemachus.shared.errors import Rejected
from telemachus.shared.security.pseudonyms import keyed_code
from telemachus.shared.security.registry import TrustRegistry, from_b64url
from telemachus.shared.security.sealing import seal

PUBLISHED_EVENTS: list[type[IntegrationEvent]] = [
    ProgramPublishedV1,
    ProgramUpdatedV1,
    ParticipantEnrolledV2,
    ProfileUpdatedV2,
    ParticipantWithdrawnV1,
]


class IdentityPublisher:
    """Maps identity's domain events to the events other institutions may see."""

    def __init__(self, pseudonym_key: bytes, trust: TrustRegistry, clock: Clock = utc_now) -> None:
        self._pseudonym_key = pseudonym_key
        self._trust = trust
        self._clock = clock

    @classmethod
    def from_key(cls, pseudonym_key: str | None, trust: TrustRegistry) -> IdentityPublisher:
        if not pseudonym_key:
            raise RuntimeError("identity needs a pseudonym_key in its keys file")
        return cls(from_b64url(pseudonym_key), trust)

    def department_code(self, department: str) -> str:
        """Equal departments give equal codes; the code does not give the department."""
        normalised = " ".join(department.casefold().split())
        return keyed_code(self._pseudonym_key, "department", normalised)

    def shared_profile(self, participant: Participant, enrolment: Enrolment) -> SharedProfileV1:
        consented = set(enrolment.consented_fields)
        profile = participant.model_dump(
            mode="json",
            include={SHARED_ATTRIBUTE[f] for f in consented} - {"department"},
        )
        if ShareableField.DEPARTMENT in consented and participant.department:
            profile["department_code"] = self.department_code(participant.department)
        return SharedProfileV1.model_validate(profile)

    def __call__(self, event: object) -> IntegrationEvent | None:
        match event:
            case events.ProgramPublished(program=program):
                return ProgramPublishedV1(
                    program_id=program.id, **program.model_dump(exclude={"id", "version"})
                )
            case events.ProgramUpdated(program=program):
                return ProgramUpdatedV1(
                    program_id=program.id, **program.model_dump(exclude={"id", "version"})
                )
            case events.ParticipantEnrolled(participant=participant, enrolment=enrolment):
                return ParticipantEnrolledV2(**self._facts(participant, enrolment))
            case events.ProfileUpdated(participant=participant, enrolment=enrolment):
                return ProfileUpdatedV2(**self._facts(participant, enrolment))
            case events.ParticipantWithdrawn() as withdrawn:
                return ParticipantWithdrawnV1(
                    participant_ref=withdrawn.participant_ref,
                    home_institution=withdrawn.home_institution,
                    program_id=withdrawn.enrolment.program_id,
                    lead_institution=withdrawn.enrolment.lead_institution,
                    erased=withdrawn.erased,
                    withdrawn_at=withdrawn.at,
                )
        return None

    def _facts(self, participant: Participant, enrolment: Enrolment) -> dict[str, object]:
        lead = enrolment.lead_institution
        record = self._trust.get(lead)
        key = record.current_encryption_key(self._clock()) if record else None
        if key is None:
            # Raised inside the transaction: nothing is published unsealed, and the request
            # is refused with this reason, changing nothing.
            raise Rejected(
                f"{lead}, which leads the program, has no valid encryption key in the trust "
                "registry to seal the profile for",
                field="program_id",
            )
        profile = self.shared_profile(participant, enrolment).model_dump_json().encode()
        return {
            "participant_ref": participant.ref,
            "home_institution": participant.home_institution,
            "program_id": enrolment.program_id,
            "lead_institution": lead,
            "consented_fields": [f.value for f in enrolment.consented_fields],
            "profile": seal(
                profile, lead, key, profile_context(enrolment.program_id, participant.ref)
            ),
        }
