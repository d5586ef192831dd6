"""Events pairing consumes: programs and enrolments from every institution's identity, and
rematch requests from this institution's sessions service."""

from __future__ import annotations

from telemachus.pairing.domain import commands
from telemachus.pairing.domain.model import Candidate, Need, Offer, Program, Slot
from telemachus.shared.contracts.identity import (
    EnrolmentFactsV1,
    ParticipantWithdrawnV1,
    ProgramPublishedV1,
    ProgramTermsV1,
    ProgramUpdatedV1,
)
from telemachus.shared.contracts.sessions import (
    RelationshipCompletedV1,
    RelationshipEndedV1,
    RelationshipOutcomeV1,
    RematchRequestedV1,
)
from telemachus.shared.contracts.topics import event_topic
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.consumer import Delivery
from telemachus.shared.runtime.enrolments import enrolment_translations
from telemachus.shared.runtime.event_commands import subscribe_commands
from telemachus.shared.runtime.service import ServiceRuntime


def candidate_from(event: EnrolmentFactsV1) -> Candidate:
    profile = event.profile
    availability = profile.availability
    return Candidate(
        id=Candidate.key(event.program_id, event.participant_ref),
        program_id=event.program_id,
        participant_ref=event.participant_ref,
        home_institution=event.home_institution,
        profession=profile.profession,
        career_stage=profile.career_stage,
        department_code=profile.department_code,
        reporting_line=profile.reporting_line,
        topics_offered=[
            Offer(topic=t.topic, proficiency=t.proficiency) for t in profile.topics_offered
        ],
        topics_sought=[Need(topic=t.topic, priority=t.priority) for t in profile.topics_sought],
        time_zone=availability.time_zone if availability else None,
        slots=[Slot(day=s.day, start=s.start, end=s.end) for s in availability.slots]
        if availability
        else [],
        languages=profile.languages,
        max_relationships=profile.max_relationships,
    )


def subscribe(runtime: ServiceRuntime, bus: MessageBus) -> None:
    me = runtime.settings.institution

    def program_terms(event: ProgramTermsV1, delivery: Delivery) -> commands.RecordProgram:
        program = Program(
            id=event.program_id,
            partner_institutions=event.partner_institutions,
            topics=event.topics,
            pairing_mode=event.pairing_mode,
            relationship_weeks=event.relationship_weeks,
            planned_sessions=event.planned_sessions,
        )
        return commands.RecordProgram(
            program=program, lead_institution=event.lead_institution, announced_by=delivery.origin
        )

    def enrolment(event: EnrolmentFactsV1, delivery: Delivery) -> commands.EnterPool | None:
        if event.lead_institution != me:
            return None  # the lead institution's pairing service owns that pool
        return commands.EnterPool(candidate=candidate_from(event), announced_by=delivery.origin)

    def withdrawn(event: ParticipantWithdrawnV1, delivery: Delivery) -> commands.LeavePool | None:
        if event.lead_institution != me:
            return None
        return commands.LeavePool(
            program_id=event.program_id,
            participant_ref=event.participant_ref,
            home_institution=event.home_institution,
            announced_by=delivery.origin,
        )

    # Batched: a cohort enrolling after an announcement is hundreds of events a second.
    subscribe_commands(
        runtime.consumer,
        "identity-events",
        [event_topic(i, "identity") for i in runtime.settings.institutions],
        {
            ProgramPublishedV1: program_terms,
            ProgramUpdatedV1: program_terms,
            **enrolment_translations(me, runtime.keys, enrolment),
            ParticipantWithdrawnV1: withdrawn,
        },
        bus,
        "Programs this institution leads, and enrolments, profile changes and withdrawals in "
        "them, from every institution of the federation: the candidate pools are built only "
        "from these events, and a replay rebuilds them.",
    )

    async def rematch(event: RematchRequestedV1, delivery: Delivery) -> None:
        command = commands.RequestRematch(
            pairing_id=event.pairing_id,
            participant_ref=event.participant_ref,
            announced_by=delivery.origin,
        )
        await bus.handle(command, inbox=delivery.inbox)

    async def closed(event: RelationshipOutcomeV1, delivery: Delivery) -> None:
        command = commands.CloseRelationship(
            pairing_id=event.pairing_id, announced_by=delivery.origin
        )
        await bus.handle(command, inbox=delivery.inbox)

    runtime.consumer.subscribe(
        "relationship-outcomes",
        [event_topic(me, "sessions")],
        {
            RematchRequestedV1: rematch,
            RelationshipCompletedV1: closed,
            RelationshipEndedV1: closed,
        },
        "Outcomes from this institution's sessions service: a completed or ended "
        "relationship frees both people's places; a rematch request after a no-fault exit "
        "returns the person to the pool, never with the same partner.",
    )
