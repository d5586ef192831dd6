"""Which events ask what of whom: pure functions from a lead's event to the notices it
makes, the reminders it sets and the reminders it ends. Nothing here reads or sends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from telemachus.identity.notifications.notices import (
    Contact,
    Intent,
    NoticeKind,
    PartiesOf,
    Ref,
    RelationshipSeen,
    Reminder,
)
from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.feedback import (
    ConcernEscalatedV1,
    ConcernReportedV1,
    FeedbackDueV1,
    FeedbackWindowOpenedV1,
    FollowUpDueV1,
    FollowUpOpenedV1,
    RelationshipPausedV1,
    RelationshipResumedV1,
)
from telemachus.shared.contracts.pairing import (
    PairingConfirmedV1,
    PairingDeclinedV1,
    PairingExpiredV1,
    PairingProposedV1,
)
from telemachus.shared.contracts.sessions import (
    AgreementConfirmedV1,
    RelationshipCompletedV1,
    RelationshipEndedV1,
    RelationshipStalledV1,
    RelationshipStartedV1,
    SessionCancelledV1,
    SessionFactsV1,
    SessionRescheduledV1,
    SessionScheduledV1,
)

# How long before a deadline its reminder comes.
PROPOSAL_WARNING = timedelta(hours=48)
SESSION_WARNING = timedelta(hours=24)
# A relationship whose learning agreement is not confirmed this long after it opened.
AGREEMENT_GRACE = timedelta(days=7)


@dataclass
class Plan:
    """What one event changes in the notifier."""

    intents: list[Intent] = field(default_factory=list)
    reminders: list[Reminder] = field(default_factory=list)
    # Reminders whose wait these ids end (a pairing answered, a session cancelled, ...).
    ends: list[str] = field(default_factory=list)
    relationship: RelationshipSeen | None = None


Rule = Callable[[Any, str], Plan]


def _reminder(
    kind: NoticeKind, reminder_id: str, to: list[str], due_at: datetime, **fields: Any
) -> Reminder:
    return Reminder(id=f"{kind}:{reminder_id}", kind=kind, to=to, due_at=due_at, **fields)


def proposed(event: PairingProposedV1, lead: str) -> Plan:
    refs = [event.mentor_ref, event.mentee_ref]
    common = {"lead": lead, "program_id": event.program_id, "target": event.pairing_id}
    # Before both accept, a proposal names no one: only the role, topic and deadline.
    intents = [
        Intent(
            Ref(ref),
            NoticeKind.PROPOSAL,
            event.pairing_id,
            params={
                "role": role,
                "topic": event.topic,
                "respond_by": event.respond_by.isoformat(),
            },
            **common,
        )
        for ref, role in ((event.mentor_ref, "mentor"), (event.mentee_ref, "mentee"))
    ]
    warn_at = event.respond_by - PROPOSAL_WARNING
    params = {"respond_by": event.respond_by.isoformat(), "round_id": event.round_id}
    reminders = [
        _reminder(
            NoticeKind.PROPOSAL_ENDING,
            event.pairing_id,
            refs,
            warn_at,
            stale_after=event.respond_by,
            fact=event.pairing_id,
            params={**params, "topic": event.topic},
            groups=[event.pairing_id],
            **common,
        ),
        # One per round for the lead's coordinators: how many are still unanswered.
        _reminder(
            NoticeKind.PROPOSALS_UNANSWERED,
            event.round_id,
            ["contact:coordinators"],
            warn_at,
            stale_after=event.respond_by,
            fact=event.round_id,
            params=params,
            lead=lead,
            program_id=event.program_id,
            target=event.round_id,
        ),
    ]
    return Plan(intents, reminders)


def proposal_answered(event: PairingConfirmedV1, lead: str) -> Plan:
    intents = [
        Intent(
            Ref(ref),
            NoticeKind.PAIRING_CONFIRMED,
            event.pairing_id,
            lead,
            event.program_id,
            event.pairing_id,
            {"topic": event.topic},
        )
        for ref in (event.mentor_ref, event.mentee_ref)
    ]
    return Plan(intents, ends=[event.pairing_id])


def proposal_closed(event: PairingDeclinedV1 | PairingExpiredV1, lead: str) -> Plan:
    reason = event.reason if isinstance(event, PairingDeclinedV1) else "expired"
    intents = [
        Intent(
            Ref(ref),
            NoticeKind.PROPOSAL_CLOSED,
            event.pairing_id,
            lead,
            event.program_id,
            event.pairing_id,
            {"reason": reason},
        )
        for ref in (event.mentor_ref, event.mentee_ref)
    ]
    return Plan(intents, ends=[event.pairing_id])


def relationship_started(event: RelationshipStartedV1, lead: str) -> Plan:
    rid = event.relationship_id
    intents = [
        Intent(
            Ref(ref),
            NoticeKind.RELATIONSHIP_STARTED,
            rid,
            lead,
            event.program_id,
            rid,
            {"topic": event.topic, "planned_end": event.planned_end.isoformat()},
        )
        for ref in (event.mentor_ref, event.mentee_ref)
    ]
    opened = datetime.combine(event.starts_on, time(9), tzinfo=UTC)
    reminder = _reminder(
        NoticeKind.AGREEMENT_PENDING,
        rid,
        [event.mentor_ref, event.mentee_ref],
        opened + AGREEMENT_GRACE,
        stale_after=datetime.combine(event.planned_end, time(0), tzinfo=UTC),
        fact=rid,
        lead=lead,
        program_id=event.program_id,
        target=rid,
        groups=[rid, f"{rid}/agreement"],
    )
    seen = RelationshipSeen(
        id=rid,
        program_id=event.program_id,
        lead=lead,
        mentor_ref=event.mentor_ref,
        mentee_ref=event.mentee_ref,
        topic=event.topic,
    )
    return Plan(intents, [reminder], relationship=seen)


def agreement_confirmed(event: AgreementConfirmedV1, lead: str) -> Plan:
    rid = event.relationship_id
    intent = Intent(
        PartiesOf(rid),
        NoticeKind.AGREEMENT_CONFIRMED,
        f"{rid}/{event.revision}",
        lead,
        event.program_id,
        rid,
        {"revision": str(event.revision), "cadence_weeks": str(event.cadence_weeks)},
    )
    return Plan([intent], ends=[f"{rid}/agreement"])


SESSION_KINDS: dict[type[SessionFactsV1], NoticeKind] = {
    SessionScheduledV1: NoticeKind.SESSION_SCHEDULED,
    SessionRescheduledV1: NoticeKind.SESSION_MOVED,
    SessionCancelledV1: NoticeKind.SESSION_CANCELLED,
}


def session_changed(event: SessionFactsV1, lead: str) -> Plan:
    kind = SESSION_KINDS[type(event)]
    sequence = event.sequence or 1
    params = {
        "relationship_id": event.relationship_id,
        "session_id": event.session_id,
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
        "format": event.format,
        # iCalendar's SEQUENCE: 0 for the first invitation, rising with every change.
        "sequence": str(sequence - 1),
    }
    common = {"lead": lead, "program_id": event.program_id, "target": event.relationship_id}
    intents = [
        Intent(Ref(ref), kind, f"{event.session_id}/{sequence}", params=params, **common)
        for ref in (event.mentor_ref, event.mentee_ref)
    ]
    if kind is NoticeKind.SESSION_CANCELLED:
        return Plan(intents, ends=[event.session_id])
    reminder = _reminder(
        NoticeKind.SESSION_TOMORROW,
        event.session_id,  # the same id: a moved session's reminder moves with it
        [event.mentor_ref, event.mentee_ref],
        event.starts_at - SESSION_WARNING,
        stale_after=event.starts_at,
        fact=f"{event.session_id}/{event.starts_at.isoformat()}",
        params=params,
        groups=[event.session_id, event.relationship_id],
        **common,
    )
    return Plan(intents, [reminder])


def feedback_opened(event: FeedbackWindowOpenedV1 | FollowUpOpenedV1, lead: str) -> Plan:
    """Both people are asked: a window of their relationship, or a follow-up months on."""
    params = {"closes_at": event.closes_at.isoformat()}
    kind = NoticeKind.FEEDBACK_DUE
    if isinstance(event, FollowUpOpenedV1):
        kind, params["months"] = NoticeKind.FOLLOW_UP_OPEN, str(event.months_after_end)
    else:
        params["kind"] = str(event.kind)
    intent = Intent(
        PartiesOf(event.relationship_id),
        kind,
        event.window_id,
        lead,
        event.program_id,
        event.window_id,
        params,
    )
    return Plan([intent])


def feedback_due(event: FeedbackDueV1 | FollowUpDueV1, lead: str) -> Plan:
    """Feedback's own reminder: only it knows who has not answered yet."""
    kind = "follow-up" if isinstance(event, FollowUpDueV1) else str(event.kind)
    params = {"kind": kind, "closes_at": event.closes_at.isoformat()}
    intent = Intent(
        Ref(event.respondent_ref),
        NoticeKind.FEEDBACK_CLOSING,
        f"{event.window_id}/{event.closes_at.isoformat()}",
        lead,
        event.program_id,
        event.window_id,
        params,
    )
    return Plan([intent])


def relationship_over(event: RelationshipCompletedV1 | RelationshipEndedV1, lead: str) -> Plan:
    completed = isinstance(event, RelationshipCompletedV1)
    rid = event.relationship_id
    intents = [
        Intent(
            Ref(ref),
            NoticeKind.RELATIONSHIP_ENDED,
            rid,
            lead,
            event.program_id,
            rid,
            # Why a party left stays with sessions: only that it ended is told.
            {"how": "completed" if completed else "ended", "held": str(event.sessions_held)},
        )
        for ref in (event.mentor_ref, event.mentee_ref)
    ]
    # Reminders of this relationship end with it; a feedback window's end its own event.
    return Plan(intents, ends=[rid, f"{rid}/agreement"])


def pause_changed(event: RelationshipPausedV1 | RelationshipResumedV1, lead: str) -> Plan:
    """Both people hear that planning stopped, or may start again; never why (a concern,
    and whose, stays with those acting on it)."""
    paused = isinstance(event, RelationshipPausedV1)
    rid = event.relationship_id
    intent = Intent(
        PartiesOf(rid),
        NoticeKind.RELATIONSHIP_PAUSED if paused else NoticeKind.RELATIONSHIP_RESUMED,
        f"{rid}/{event.hold_id}",
        lead,
        event.program_id,
        rid,
        {"relationship_id": rid},  # names the topic in the notice
    )
    return Plan([intent])


def stalled(event: RelationshipStalledV1, lead: str) -> Plan:
    intent = Intent(
        Contact("coordinators"),
        NoticeKind.RELATIONSHIP_STALLED,
        f"{event.relationship_id}/{event.stalled_since.isoformat()}",
        lead,
        event.program_id,
        event.relationship_id,
        {"stalled_since": event.stalled_since.isoformat()},
    )
    return Plan([intent])


def concern_reported(event: ConcernReportedV1, lead: str) -> Plan:
    intent = Intent(
        # The reporter's home acts on it (events from before routing: the lead).
        Contact("concerns", event.institution),
        NoticeKind.CONCERN_REPORTED,
        event.concern_id,
        lead,
        event.program_id,
        event.concern_id,
        {"reported_at": event.reported_at.isoformat()},
    )
    return Plan([intent])


def concern_escalated(event: ConcernEscalatedV1, lead: str) -> Plan:
    intent = Intent(
        Contact("escalation", event.institution),
        NoticeKind.CONCERN_OVERDUE,
        f"{event.concern_id}/overdue",
        lead,
        event.program_id,
        event.concern_id,
        {"respond_by": event.respond_by.isoformat()},
    )
    return Plan([intent])


RULES: dict[type[IntegrationEvent], Rule] = {
    PairingProposedV1: proposed,
    PairingConfirmedV1: proposal_answered,
    PairingDeclinedV1: proposal_closed,
    PairingExpiredV1: proposal_closed,
    RelationshipStartedV1: relationship_started,
    AgreementConfirmedV1: agreement_confirmed,
    SessionScheduledV1: session_changed,
    SessionRescheduledV1: session_changed,
    SessionCancelledV1: session_changed,
    FeedbackWindowOpenedV1: feedback_opened,
    FeedbackDueV1: feedback_due,
    FollowUpOpenedV1: feedback_opened,
    FollowUpDueV1: feedback_due,
    RelationshipCompletedV1: relationship_over,
    RelationshipEndedV1: relationship_over,
    RelationshipStalledV1: stalled,
    ConcernReportedV1: concern_reported,
    ConcernEscalatedV1: concern_escalated,
    RelationshipPausedV1: pause_changed,
    RelationshipResumedV1: pause_changed,
}


def plan_for(event: IntegrationEvent, lead: str) -> Plan:
    return RULES[type(event)](event, lead)
