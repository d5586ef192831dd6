"""Events feedback consumes: the programs this institution leads and their people (from
every institution's identity), and the pairings and relationships of those programs."""

from __future__ import annotations

from telemachus.feedback.domain import commands
from telemachus.feedback.domain.model import PairingOutcome, RelationshipStatus
from telemachus.shared.contracts.identity import (
    EnrolmentFactsV1,
    ParticipantWithdrawnV1,
    ProgramPublishedV1,
    ProgramTermsV1,
    ProgramUpdatedV1,
)
from telemachus.shared.contracts.pairing import (
    PairingConfirmedV1,
    PairingDeclinedV1,
    PairingExpiredV1,
    PairingProposedV1,
)
from telemachus.shared.contracts.sessions import (
    RelationshipCompletedV1,
    RelationshipEndedV1,
    RelationshipStartedV1,
    SessionHeldV1,
)
from telemachus.shared.contracts.topics import event_topic
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.consumer import Delivery
from telemachus.shared.runtime.enrolments import enrolment_translations
from telemachus.shared.runtime.event_commands import subscribe_commands
from telemachus.shared.runtime.service import ServiceRuntime
from telemachus.shared.security.access import for_our_program, require_lead

PairingFact = PairingProposedV1 | PairingConfirmedV1 | PairingDeclinedV1 | PairingExpiredV1
OUTCOMES: dict[type[PairingFact], PairingOutcome] = {
    PairingProposedV1: PairingOutcome.PROPOSED,
    PairingConfirmedV1: PairingOutcome.CONFIRMED,
    PairingDeclinedV1: PairingOutcome.DECLINED,
    PairingExpiredV1: PairingOutcome.EXPIRED,
}


def subscribe(runtime: ServiceRuntime, bus: MessageBus) -> None:
    me = runtime.settings.institution

    def program(event: ProgramTermsV1, delivery: Delivery) -> object | None:
        if event.lead_institution != me or delivery.origin != me:
            return None  # another institution's program: its own feedback service counts it
        return commands.RecordProgram(
            program_id=event.program_id,
            title=event.title,
            partner_institutions=event.partner_institutions,
            reporting_threshold=event.reporting_threshold,
        )

    def enrolment(event: EnrolmentFactsV1, delivery: Delivery) -> object | None:
        if not for_our_program(event, delivery.origin, me):
            return None
        profile = event.profile
        return commands.RecordEnrolment(
            program_id=event.program_id,
            participant_ref=event.participant_ref,
            institution=event.home_institution,
            profession=profile.profession.value if profile.profession else None,
            reporting_line=(
                list(profile.reporting_line)
                if "reporting_line" in profile.model_fields_set
                else None
            ),
        )

    def withdrawn(event: ParticipantWithdrawnV1, delivery: Delivery) -> object | None:
        if not for_our_program(event, delivery.origin, me):
            return None
        return commands.ParticipantLeft(
            program_id=event.program_id, participant_ref=event.participant_ref
        )

    # Batched: a cohort enrolling after an announcement is hundreds of events a second.
    subscribe_commands(
        runtime.consumer,
        "identity-events",
        [event_topic(i, "identity") for i in runtime.settings.institutions],
        {
            ProgramPublishedV1: program,
            ProgramUpdatedV1: program,
            **enrolment_translations(me, runtime.keys, enrolment),
            ParticipantWithdrawnV1: withdrawn,
        },
        bus,
        "Programs this institution leads (terms and reporting threshold), and their "
        "participants' institution and shared profession, which reports split by; a "
        "withdrawal erases or anonymises the person's answers as the program decided.",
    )

    def pairing(event: PairingFact, delivery: Delivery) -> commands.RecordPairing:
        require_lead(event.program_id, delivery.origin)
        return commands.RecordPairing(
            pairing_id=event.pairing_id,
            program_id=event.program_id,
            mode=event.mode,
            mentor_ref=event.mentor_ref,
            mentee_ref=event.mentee_ref,
            outcome=OUTCOMES[type(event)],
        )

    # A program's pairings, relationships and feedback are all owned by its lead. Batched:
    # a round's publication proposes hundreds of pairings at once.
    subscribe_commands(
        runtime.consumer,
        "pairing-events",
        [event_topic(me, "pairing")],
        dict.fromkeys(OUTCOMES, pairing),
        bus,
        "Pairings of the programs this institution leads and how they were made: reports "
        "compare assigned, ranked and mixed pairing.",
    )

    async def started(event: RelationshipStartedV1, delivery: Delivery) -> None:
        require_lead(event.program_id, delivery.origin)
        command = commands.OpenRelationship(
            relationship_id=event.relationship_id,
            program_id=event.program_id,
            mode=event.mode,
            mentor_ref=event.mentor_ref,
            mentee_ref=event.mentee_ref,
            topic=event.topic,
            starts_on=event.starts_on,
        )
        await bus.handle(command, inbox=delivery.inbox)

    async def held(event: SessionHeldV1, delivery: Delivery) -> None:
        require_lead(event.program_id, delivery.origin)
        command = commands.RecordSessionHeld(
            relationship_id=event.relationship_id,
            session_id=event.session_id,
            held_count=event.held_count,
        )
        await bus.handle(command, inbox=delivery.inbox)

    async def completed(event: RelationshipCompletedV1, delivery: Delivery) -> None:
        require_lead(event.program_id, delivery.origin)
        command = commands.FinishRelationship(
            relationship_id=event.relationship_id,
            status=RelationshipStatus.COMPLETED,
            on=event.completed_on,
            sessions_held=event.sessions_held,
        )
        await bus.handle(command, inbox=delivery.inbox)

    async def ended(event: RelationshipEndedV1, delivery: Delivery) -> None:
        require_lead(event.program_id, delivery.origin)
        command = commands.FinishRelationship(
            relationship_id=event.relationship_id,
            status=RelationshipStatus.ENDED,
            on=event.ended_on,
            sessions_held=event.sessions_held,
        )
        await bus.handle(command, inbox=delivery.inbox)

    runtime.consumer.subscribe(
        "sessions-events",
        [event_topic(me, "sessions")],
        {
            RelationshipStartedV1: started,
            SessionHeldV1: held,
            RelationshipCompletedV1: completed,
            RelationshipEndedV1: ended,
        },
        "Relationships of the programs this institution leads: a start opens the baseline "
        "window, each session held a check-in, completion or an early end the final window.",
    )
