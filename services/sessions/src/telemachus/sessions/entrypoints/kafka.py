"""Events sessions consumes: confirmed pairings of this institution's programs, and from
every institution's identity the programs, availability and withdrawals of their people."""

from __future__ import annotations

from telemachus.sessions.domain import commands
from telemachus.shared.contracts.feedback import RelationshipPausedV1, RelationshipResumedV1
from telemachus.shared.contracts.identity import (
    EnrolmentFactsV1,
    ParticipantWithdrawnV1,
    ProgramPublishedV1,
    ProgramTermsV1,
    ProgramUpdatedV1,
)
from telemachus.shared.contracts.pairing import PairingConfirmedV1
from telemachus.shared.contracts.topics import event_topic
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.consumer import Delivery
from telemachus.shared.runtime.enrolments import enrolment_translations
from telemachus.shared.runtime.event_commands import subscribe_commands
from telemachus.shared.runtime.service import ServiceRuntime
from telemachus.shared.security.access import for_our_program, require_lead


def subscribe(runtime: ServiceRuntime, bus: MessageBus) -> None:
    me = runtime.settings.institution

    def pairing_confirmed(event: PairingConfirmedV1, delivery: Delivery) -> object:
        require_lead(event.program_id, delivery.origin)
        return commands.OpenRelationship(
            pairing_id=event.pairing_id,
            program_id=event.program_id,
            mode=event.mode,
            mentor_ref=event.mentor_ref,
            mentee_ref=event.mentee_ref,
            topic=event.topic,
            starts_on=event.confirmed_at.date(),
            weeks=event.relationship_weeks,
            planned_sessions=event.planned_sessions,
            circle_id=event.circle_id,
        )

    # A program's pairings and relationships are both owned by its lead institution.
    # Batched: a round's publication confirms hundreds of pairings within seconds.
    subscribe_commands(
        runtime.consumer,
        "pairing-events",
        [event_topic(me, "pairing")],
        {PairingConfirmedV1: pairing_confirmed},
        bus,
        "Confirmed pairings of the programs this institution leads; each opens a relationship.",
    )

    def paused(event: RelationshipPausedV1, delivery: Delivery) -> object:
        require_lead(event.program_id, delivery.origin)
        return commands.PauseRelationship(
            relationship_id=event.relationship_id, hold_id=event.hold_id
        )

    def resumed(event: RelationshipResumedV1, delivery: Delivery) -> object:
        require_lead(event.program_id, delivery.origin)
        return commands.ResumeRelationship(
            relationship_id=event.relationship_id, hold_id=event.hold_id
        )

    # Our own feedback service pauses a relationship while a concern about it is handled.
    subscribe_commands(
        runtime.consumer,
        "concern-holds",
        [event_topic(me, "feedback")],
        {RelationshipPausedV1: paused, RelationshipResumedV1: resumed},
        bus,
        "Relationships paused and resumed by those acting on a concern: while paused, "
        "planned sessions are cancelled and nothing new can be planned.",
    )

    def program(event: ProgramTermsV1, delivery: Delivery) -> object | None:
        # Only a program's lead states its terms, and only our own programs matter here.
        if event.lead_institution != me or delivery.origin != me:
            return None
        return commands.RecordProgram(
            program_id=event.program_id,
            partner_institutions=event.partner_institutions,
            reporting_threshold=event.reporting_threshold,
        )

    def availability(event: EnrolmentFactsV1, delivery: Delivery) -> object | None:
        if not for_our_program(event, delivery.origin, me):
            return None
        shared = event.profile.availability
        return commands.RecordAvailability(
            program_id=event.program_id,
            participant_ref=event.participant_ref,
            time_zone=shared.time_zone if shared else None,
            slots=[
                {"day": s.day.value, "start": s.start.isoformat(), "end": s.end.isoformat()}
                for s in (shared.slots if shared else [])
            ],
        )

    def withdrawn(event: ParticipantWithdrawnV1, delivery: Delivery) -> object | None:
        if not for_our_program(event, delivery.origin, me):
            return None
        return commands.ParticipantLeft(
            program_id=event.program_id, participant_ref=event.participant_ref
        )

    subscribe_commands(
        runtime.consumer,
        "identity-events",
        [event_topic(i, "identity") for i in runtime.settings.institutions],
        {
            ProgramPublishedV1: program,
            ProgramUpdatedV1: program,
            **enrolment_translations(me, runtime.keys, availability),
            ParticipantWithdrawnV1: withdrawn,
        },
        bus,
        "Programs this institution leads, and their participants' shared availability and "
        "withdrawals: sessions are proposed inside availability, and a withdrawal ends the "
        "person's relationships and erases their private notes.",
    )
