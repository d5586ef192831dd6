"""Domain events -> wire events. Only consented profile fields leave the institution,
and contact cards leave only sealed for the counterpart's institution."""

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
    ContactCardV1,
    ContactSharedV1,
    ParticipantEnrolledV1,
    ParticipantWithdrawnV1,
    ProfileUpdatedV1,
    ProgramPublishedV1,
    ProgramUpdatedV1,
    SharedProfileV1,
    contact_context,
)
from telemachus.shared.security.pseudonyms import keyed_code
from telemachus.shared.security.registry import TrustRegistry, from_b64url
from telemachus.shared.security.sealing import seal

PUBLISHED_EVENTS: list[type[IntegrationEvent]] = [
    ProgramPublishedV1,
    ProgramUpdatedV1,
    ParticipantEnrolledV1,
    ProfileUpdatedV1,
    ParticipantWithdrawnV1,
    ContactSharedV1,
]


class IdentityPublisher:
    """Maps identity's domain events to the events other institutions may see."""

    def __init__(self, trust: TrustRegistry, pseudonym_key: bytes, clock: Clock = utc_now) -> None:
        self._trust = trust
        self._pseudonym_key = pseudonym_key
        self._clock = clock

    @classmethod
    def from_key(cls, trust: TrustRegistry, pseudonym_key: str | None) -> IdentityPublisher:
        if not pseudonym_key:
            raise RuntimeError("identity needs a pseudonym_key in its keys file")
        return cls(trust, from_b64url(pseudonym_key))

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
                return ParticipantEnrolledV1(**self._facts(participant, enrolment))
            case events.ProfileUpdated(participant=participant, enrolment=enrolment):
                return ProfileUpdatedV1(**self._facts(participant, enrolment))
            case events.ParticipantWithdrawn() as withdrawn:
                return ParticipantWithdrawnV1(
                    participant_ref=withdrawn.participant_ref,
                    home_institution=withdrawn.home_institution,
                    program_id=withdrawn.enrolment.program_id,
                    lead_institution=withdrawn.enrolment.lead_institution,
                    erased=withdrawn.erased,
                    withdrawn_at=withdrawn.at,
                )
            case events.ContactReleased() as released:
                return self._contact_shared(released)
        return None

    def _facts(self, participant: Participant, enrolment: Enrolment) -> dict[str, object]:
        return {
            "participant_ref": participant.ref,
            "home_institution": participant.home_institution,
            "program_id": enrolment.program_id,
            "lead_institution": enrolment.lead_institution,
            "consented_fields": [f.value for f in enrolment.consented_fields],
            "profile": self.shared_profile(participant, enrolment),
        }

    def _contact_shared(self, released: events.ContactReleased) -> ContactSharedV1:
        recipient = released.counterpart_ref.split(":", 1)[0]
        record = self._trust.get(recipient)
        key = record.current_encryption_key(self._clock()) if record else None
        if key is None:
            # Raised inside the transaction: nothing is released unsealed, and the event
            # that asked is retried, then dead-lettered with this reason.
            raise LookupError(f"no valid encryption key for {recipient} in the trust registry")
        card = ContactCardV1(display_name=released.display_name, work_email=released.work_email)
        context = contact_context(
            released.pairing_id, released.participant_ref, released.counterpart_ref
        )
        return ContactSharedV1(
            pairing_id=released.pairing_id,
            program_id=released.program_id,
            participant_ref=released.participant_ref,
            counterpart_ref=released.counterpart_ref,
            contact=seal(card.model_dump_json().encode(), recipient, key, context),
        )
