"""Events pairing consumes: programs and enrolments from every institution's identity."""

from __future__ import annotations

from telemachus.pairing.domain import commands
from telemachus.pairing.domain.model import Candidate, Need, Offer, Program
from telemachus.shared.contracts.identity import ParticipantEnrolledV1, ProgramPublishedV1
from telemachus.shared.contracts.topics import event_topic
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.consumer import Delivery
from telemachus.shared.runtime.service import ServiceRuntime


def candidate_from(event: ParticipantEnrolledV1) -> Candidate:
    profile = event.profile
    return Candidate(
        id=Candidate.key(event.program_id, event.participant_ref),
        program_id=event.program_id,
        participant_ref=event.participant_ref,
        home_institution=event.home_institution,
        profession=profile.profession,
        career_stage=profile.career_stage,
        topics_offered=[
            Offer(topic=t.topic, proficiency=t.proficiency) for t in profile.topics_offered
        ],
        topics_sought=[Need(topic=t.topic, priority=t.priority) for t in profile.topics_sought],
        languages=profile.languages,
        max_relationships=profile.max_relationships,
    )


def subscribe(runtime: ServiceRuntime, bus: MessageBus) -> None:
    me = runtime.settings.institution

    async def program_published(event: ProgramPublishedV1, delivery: Delivery) -> None:
        if event.lead_institution != me:
            return  # another institution's pairing service owns that program
        program = Program(
            id=event.program_id,
            partner_institutions=event.partner_institutions,
            topics=event.topics,
            pairing_mode=event.pairing_mode,
            relationship_weeks=event.relationship_weeks,
            planned_sessions=event.planned_sessions,
        )
        await bus.handle(commands.RecordProgram(program=program), inbox_id=delivery.id)

    async def participant_enrolled(event: ParticipantEnrolledV1, delivery: Delivery) -> None:
        if event.lead_institution != me:
            return
        await bus.handle(
            commands.AddCandidate(candidate=candidate_from(event)), inbox_id=delivery.id
        )

    runtime.consumer.subscribe(
        "identity-events",
        [event_topic(i, "identity") for i in runtime.settings.institutions],
        {ProgramPublishedV1: program_published, ParticipantEnrolledV1: participant_enrolled},
        "Programs this institution leads and the enrolments in them, from every institution "
        "of the federation: the candidate pools are built only from these events.",
    )
