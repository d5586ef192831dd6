"""Domain events -> wire events."""

from __future__ import annotations

from telemachus.sessions.domain import events
from telemachus.sessions.domain.model import MentoringSession, Relationship
from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.sessions import (
    AgreementConfirmedV1,
    PreparationCompletedV1,
    RelationshipCompletedV1,
    RelationshipEndedV1,
    RelationshipStalledV1,
    RelationshipStartedV1,
    RematchRequestedV1,
    SessionCancelledV1,
    SessionFactsV1,
    SessionHeldV1,
    SessionMissedV1,
    SessionRescheduledV1,
    SessionScheduledV1,
)

PUBLISHED_EVENTS: list[type[IntegrationEvent]] = [
    RelationshipStartedV1,
    AgreementConfirmedV1,
    SessionScheduledV1,
    SessionRescheduledV1,
    SessionCancelledV1,
    SessionHeldV1,
    SessionMissedV1,
    RelationshipCompletedV1,
    RelationshipEndedV1,
    RelationshipStalledV1,
    RematchRequestedV1,
    PreparationCompletedV1,
]
SESSION_EVENTS: dict[type[events.SessionEvent], type[SessionFactsV1]] = {
    events.SessionScheduled: SessionScheduledV1,
    events.SessionRescheduled: SessionRescheduledV1,
    events.SessionCancelled: SessionCancelledV1,
    events.SessionMissed: SessionMissedV1,
}


def _session_facts(r: Relationship, s: MentoringSession) -> dict[str, object]:
    return {
        "relationship_id": r.id,
        "session_id": s.id,
        "program_id": r.program_id,
        "mentor_ref": r.mentor_ref,
        "mentee_ref": r.mentee_ref,
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "format": s.format.value,
        "group_id": s.group_id,
    }


def _outcome(r: Relationship) -> dict[str, object]:
    return {
        "relationship_id": r.id,
        "pairing_id": r.pairing_id,
        "program_id": r.program_id,
        "mode": r.mode,
        "mentor_ref": r.mentor_ref,
        "mentee_ref": r.mentee_ref,
        "sessions_held": r.held,
    }


def to_wire(event: object) -> IntegrationEvent | None:
    match event:
        case events.RelationshipStarted(relationship=r):
            return RelationshipStartedV1(
                relationship_id=r.id,
                pairing_id=r.pairing_id,
                program_id=r.program_id,
                mode=r.mode,
                mentor_ref=r.mentor_ref,
                mentee_ref=r.mentee_ref,
                topic=r.topic,
                starts_on=r.starts_on,
                planned_end=r.planned_end,
                planned_sessions=r.planned_sessions,
                circle_id=r.circle_id,
            )
        case events.AgreementConfirmed(relationship=r, at=at) if r.agreement is not None:
            return AgreementConfirmedV1(
                relationship_id=r.id,
                program_id=r.program_id,
                revision=r.agreement.revision,
                cadence_weeks=r.agreement.cadence_weeks,
                confirmed_at=at,
                ground_rules_version=r.agreement.ground_rules_version or None,
            )
        case events.PreparationCompleted(record=p, module_id=module_id, at=at):
            return PreparationCompletedV1(
                program_id=p.program_id,
                participant_ref=p.participant_ref,
                module_id=module_id,
                completed_at=at,
            )
        case events.SessionHeld(relationship=r, session=s):
            return SessionHeldV1.model_validate({**_session_facts(r, s), "held_count": r.held})
        case events.SessionEvent(relationship=r, session=s):
            return SESSION_EVENTS[type(event)].model_validate(_session_facts(r, s))
        case events.RelationshipCompleted(relationship=r, on=on, reason=reason):
            return RelationshipCompletedV1.model_validate(
                {**_outcome(r), "completed_on": on, "reason": reason}
            )
        case events.RelationshipEnded(relationship=r, on=on, withdrawn=withdrawn):
            return RelationshipEndedV1.model_validate(
                {**_outcome(r), "ended_on": on, "withdrawn": withdrawn}
            )
        case events.RelationshipStalled(relationship=r, on=on):
            return RelationshipStalledV1(
                relationship_id=r.id,
                program_id=r.program_id,
                last_held_on=r.last_held_at.date() if r.last_held_at else None,
                stalled_since=on,
            )
        case events.RematchRequested(relationship=r, participant_ref=ref, at=at):
            return RematchRequestedV1(
                relationship_id=r.id,
                pairing_id=r.pairing_id,
                program_id=r.program_id,
                participant_ref=ref,
                requested_at=at,
            )
    return None
