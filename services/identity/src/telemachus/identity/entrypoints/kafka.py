"""Events identity consumes: partners' programs, confirmed pairings and withdrawals of other
institutions' people."""

from __future__ import annotations

from telemachus.identity.domain import commands
from telemachus.identity.notifications.recording import NoticeEvent
from telemachus.identity.notifications.rules import RULES
from telemachus.identity.webhooks.deliveries import SignedRecord, enqueue
from telemachus.shared.clock import utc_now
from telemachus.shared.contracts.asyncapi import published_on
from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.envelope import decode_headers
from telemachus.shared.contracts.identity import (
    ParticipantWithdrawnV1,
    ProgramPublishedV1,
    ProgramTermsV1,
    ProgramUpdatedV1,
)
from telemachus.shared.contracts.pairing import PairingConfirmedV1
from telemachus.shared.contracts.topics import SERVICES, event_topic
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.consumer import Delivery
from telemachus.shared.runtime.event_commands import subscribe_commands
from telemachus.shared.runtime.inbox import InboxEntry
from telemachus.shared.runtime.sequences import Sequenced
from telemachus.shared.runtime.service import ServiceRuntime


def subscribe(runtime: ServiceRuntime, bus: MessageBus) -> None:
    me = runtime.settings.institution
    others = [i for i in runtime.settings.institutions if i != me]

    async def program_terms(event: ProgramTermsV1, delivery: Delivery) -> None:
        command = commands.RecordPartnerProgram(
            program_id=event.program_id,
            announced_by=delivery.origin,
            **event.model_dump(exclude={"program_id", "sequence"}),
        )
        await bus.handle(command, inbox=delivery.inbox)

    async def withdrawn(event: ParticipantWithdrawnV1, delivery: Delivery) -> None:
        command = commands.ForgetWithdrawn(
            participant_ref=event.participant_ref,
            program_id=event.program_id,
            erased=event.erased,
            announced_by=delivery.origin,
        )
        await bus.handle(command, inbox=delivery.inbox)

    runtime.consumer.subscribe(
        "partner-identity",
        [event_topic(i, "identity") for i in others],
        {
            ProgramPublishedV1: program_terms,
            ProgramUpdatedV1: program_terms,
            ParticipantWithdrawnV1: withdrawn,
        },
        "Other institutions' identity events: programs this institution partners in, and "
        "withdrawals after which their people no longer read our people's contact cards.",
    )

    def pairing_confirmed(
        event: PairingConfirmedV1, delivery: Delivery
    ) -> commands.ReleaseContacts:
        return commands.ReleaseContacts(
            pairing_id=event.pairing_id,
            program_id=event.program_id,
            mentor_ref=event.mentor_ref,
            mentee_ref=event.mentee_ref,
            announced_by=delivery.origin,
        )

    # Batched: a round's people answer within minutes of its announcement.
    subscribe_commands(
        runtime.consumer,
        "confirmed-pairings",
        [event_topic(i, "pairing") for i in runtime.settings.institutions],
        {PairingConfirmedV1: pairing_confirmed},
        bus,
        "Pairings both sides accepted, from every lead institution's pairing service: the "
        "moment, and the only one, at which this institution lets the counterpart read its "
        "participant's contact card (from this service, never on the event log).",
    )


def _notices_inbox(delivery: Delivery) -> InboxEntry:
    """The notifier's own inbox entries: identity also handles some of these events for
    contact release, and each use must count an event once, not the two together."""
    mark = delivery.sequenced
    return InboxEntry(
        f"notices|{delivery.id}", Sequenced(f"notices|{mark.of}", mark.n) if mark else None
    )


def subscribe_notices(runtime: ServiceRuntime, bus: MessageBus) -> None:
    async def notice(event: IntegrationEvent, delivery: Delivery) -> None:
        await bus.handle(NoticeEvent(event, delivery.origin), inbox=_notices_inbox(delivery))

    async def notices(batch: list[tuple[IntegrationEvent, Delivery]]) -> None:
        # One transaction per polled batch: a round of hundreds of proposals, or a lead's
        # feedback reminders, is recorded in a few commits, not one per event.
        await bus.handle_batch(
            [
                (NoticeEvent(event, delivery.origin), _notices_inbox(delivery))
                for event, delivery in batch
            ],
            [delivery.trace for _, delivery in batch],
        )

    runtime.consumer.subscribe_batch(
        "notices",
        [
            event_topic(i, service)
            for i in runtime.settings.institutions
            for service in ("pairing", "sessions", "feedback")
        ],
        dict.fromkeys(RULES, notice),
        notices,
        "What every lead's pairing, sessions and feedback say of this institution's people "
        "(proposals, sessions, feedback due, endings) and of the programs it leads (stalls, "
        "concerns, unanswered rounds): the notifier tells the people concerned, once.",
        max_records=200,
    )


def subscribe_webhooks(runtime: ServiceRuntime) -> None:
    """This institution's own events, queued for the webhooks that asked for their type
    (identity/webhooks): passed on as they were signed, so the record itself is kept."""
    me = runtime.settings.institution

    async def queue(event: IntegrationEvent, delivery: Delivery) -> None:
        record = delivery.record
        assert record is not None  # the consumer hands every handler its record
        headers = decode_headers(record.headers)
        await enqueue(
            runtime.db,
            SignedRecord(
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                key=(record.key or b"").decode()
                if isinstance(record.key, bytes)
                else str(record.key),
                event_type=event.event_type,
                event_id=delivery.id,
                headers=headers,
                data=record.value or b"",
            ),
            utc_now(),
        )

    own = [e for service in SERVICES for e in published_on(service)]
    runtime.consumer.subscribe(
        "webhooks",
        [event_topic(me, service) for service in SERVICES],
        dict.fromkeys(own, queue),
        "This institution's own events, every type, for the webhooks integrators registered: "
        "each is queued, as it was signed, for the webhooks that asked for its type.",
    )
