"""The notifier's use cases inside identity's unit of work: an event's notices, reminders
and mail rows commit in the transaction that records the event in the inbox, so a
redelivered or replayed event, or a crash before commit, can make neither a second
notice nor a lost one (docs/notifications.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from telemachus.identity.notifications.notices import (
    Contact,
    Intent,
    Notice,
    NoticeKind,
    NoticePreferences,
    PartiesOf,
    Preferences,
    Ref,
    Reminder,
    digest_id,
    notice_id,
)
from telemachus.identity.notifications.rules import Plan, plan_for
from telemachus.identity.service_layer.unit_of_work import NOTICES, IdentityUnitOfWork
from telemachus.shared.clock import Clock, utc_now
from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.pairing import PairingConfirmedV1
from telemachus.shared.errors import Forbidden, NotFound
from telemachus.shared.runtime.bus import Handlers
from telemachus.shared.runtime.documents import stamp

SWEEP_BATCH = 500


@dataclass(frozen=True)
class NoticeEvent:
    """A lead institution's event that may concern our people."""

    event: IntegrationEvent
    announced_by: str


@dataclass(frozen=True)
class SendReminders:
    pass


@dataclass(frozen=True)
class SendDigests:
    """Last week's notices of those who chose a weekly e-mail, one e-mail each."""


@dataclass(frozen=True)
class MarkRead:
    participant_id: str
    notice_ids: list[str] = field(default_factory=list)  # empty: all


@dataclass(frozen=True)
class SetPreferences:
    participant_id: str
    preferences: Preferences


@dataclass(frozen=True)
class Contacts:
    """This institution's addresses for roles (settings): who acts on stalls and rounds,
    the safeguarding contacts for concerns, and who hears of a concern left unanswered
    (the coordinators, unless someone is named)."""

    coordinators: list[str] = field(default_factory=list)
    concerns: list[str] = field(default_factory=list)
    escalation: list[str] = field(default_factory=list)

    def of(self, role: str) -> list[str]:
        if role == "escalation":
            return list(self.escalation or self.coordinators)
        return list(self.coordinators if role == "coordinators" else self.concerns)


def mail_row(notice: Notice, now: datetime) -> dict[str, Any]:
    return {
        "_id": notice.id,
        "status": "due",
        "tries": 0,
        "next_at": now,
        "claimed_until": now,
        "created_at": now,
    }


def _home(ref: str) -> str:
    return ref.partition(":")[0]


def _local(ref: str) -> str:
    return ref.partition(":")[2]


class NoticeHandlers:
    def __init__(
        self, institution: str, contacts: Contacts, *, mail: bool, clock: Clock = utc_now
    ) -> None:
        self.institution = institution
        self.contacts = contacts
        self.mail = mail  # no relay configured: notices are kept for the portal only
        self.clock = clock

    async def on_event(self, cmd: NoticeEvent, uow: IdentityUnitOfWork) -> None:
        program_id = getattr(cmd.event, "program_id", None)
        program = await uow.programs.get(program_id) if program_id else None
        if program is None:
            return  # a program none of our people are in
        if cmd.announced_by != program.lead_institution:
            if isinstance(cmd.event, PairingConfirmedV1):
                return  # identity's contact release refuses it already: one dead letter
            raise Forbidden(
                f"{cmd.announced_by} spoke for {program.lead_institution}'s program {program.id}"
            )
        plan = plan_for(cmd.event, program.lead_institution)
        await self._apply(plan, uow)

    async def _apply(self, plan: Plan, uow: IdentityUnitOfWork) -> None:
        seen = plan.relationship
        ours = seen is not None and (self._ours(seen.mentor_ref) or self._ours(seen.mentee_ref))
        if seen is not None and ours and await uow.relationships_seen.get(seen.id) is None:
            uow.relationships_seen.add(seen)
        if plan.ends:
            # What this batch already holds goes through the unit of work (one set earlier
            # in the batch is never stored); the rest is deleted where it lies.
            held = uow.reminders.held()
            for waiting in held:
                if set(waiting.groups) & set(plan.ends):
                    uow.reminders.remove(waiting)
            await uow.reminders.remove_where(
                {"groups": {"$in": plan.ends}, "_id": {"$nin": [r.id for r in held]}}
            )
        for reminder in plan.reminders:
            await self._set(reminder, uow)
        await self._tell(plan.intents, uow)

    def _ours(self, ref: str) -> bool:
        return _home(ref) == self.institution

    async def _set(self, reminder: Reminder, uow: IdentityUnitOfWork) -> None:
        lead_is_us = reminder.lead == self.institution
        to = [t for t in reminder.to if (t.startswith("contact:") and lead_is_us) or self._ours(t)]
        # The lead keeps every proposal's reminder, even with none of its own people in it:
        # its coordinators' reminder counts the proposals still open in a round.
        counted = lead_is_us and reminder.kind is NoticeKind.PROPOSAL_ENDING
        if not to and not counted:
            return
        held = await uow.reminders.get(reminder.id)
        if held is None:
            uow.reminders.add(reminder.model_copy(update={"to": to}))
        elif held.fact != reminder.fact:  # a moved session: its reminder moves with it
            held.due_at, held.stale_after = reminder.due_at, reminder.stale_after
            held.fact, held.params, held.done = reminder.fact, reminder.params, False

    async def _recipients(
        self, intent: Intent, uow: IdentityUnitOfWork
    ) -> list[tuple[str, str | None]]:
        """(notice recipient, participant id or None for a role's address)."""
        to = intent.to
        if isinstance(to, Contact):
            if (to.institution or intent.lead) != self.institution:
                return []  # only the named institution's own addresses are told
            return [(f"contact:{address}", None) for address in self.contacts.of(to.role)]
        refs = [to.ref] if isinstance(to, Ref) else []
        if isinstance(to, PartiesOf):
            seen = await uow.relationships_seen.get(to.relationship_id)
            refs = [seen.mentor_ref, seen.mentee_ref] if seen else []
        return [(_local(r), _local(r)) for r in refs if self._ours(r)]

    async def _tell(self, intents: list[Intent], uow: IdentityUnitOfWork) -> None:
        now = self.clock()
        planned: list[tuple[Intent, str, str | None]] = []
        for intent in intents:
            for recipient, participant_id in await self._recipients(intent, uow):
                planned.append((intent, recipient, participant_id))
        if not planned:
            return
        ids = [notice_id(r, i.kind, i.fact) for i, r, _ in planned]
        told = await uow.existing(NOTICES, ids)
        people_ids = sorted({p for _, _, p in planned if p is not None})
        people = {p.id: p for p in await uow.participants.find({"_id": {"$in": people_ids}})}
        preferences = {
            p.id: p for p in await uow.notice_preferences.find({"_id": {"$in": people_ids}})
        }
        topics: dict[str, str] = {}
        rows = []
        for (intent, recipient, participant_id), nid in zip(planned, ids, strict=True):
            if nid in told:
                continue  # the same fact, told before (a replay, or a second event saying it)
            told.add(nid)
            person = people.get(participant_id) if participant_id else None
            if participant_id is not None and (
                person is None or person.active_enrolment(intent.program_id) is None
            ):
                continue  # left the program or was erased since
            params = dict(intent.params)
            if "topic" not in params and "relationship_id" in params:
                rid = params["relationship_id"]
                if rid not in topics:
                    seen = await uow.relationships_seen.get(rid)
                    topics[rid] = seen.topic if seen else ""
                params["topic"] = topics[rid]
            how = (
                "now"
                if participant_id is None
                else (preferences.get(participant_id) or Preferences()).mails(intent.kind)
            )
            notice = Notice(
                id=nid,
                recipient=recipient,
                kind=intent.kind,
                fact=intent.fact,
                lead=intent.lead,
                program_id=intent.program_id,
                target=intent.target,
                params=params,
                created_at=now,
                email=("queued" if how == "now" else "digest" if how == "digest" else "off")
                if self.mail
                else "off",
            )
            uow.notices.add(notice)
            if notice.email == "queued":
                rows.append(mail_row(notice, now))
        await uow.queue_mail(rows)

    async def send_reminders(self, cmd: SendReminders, uow: IdentityUnitOfWork) -> int:
        now = self.clock()
        due = await uow.reminders.find({"done": False, "due_at": {"$lte": stamp(now)}}, SWEEP_BATCH)
        intents = []
        for reminder in due:
            reminder.done = True
            if reminder.stale_after <= now:
                continue  # the deadline passed while we were away: too late to remind
            params = dict(reminder.params)
            if reminder.kind is NoticeKind.PROPOSALS_UNANSWERED:
                still_open = await uow.reminders.find(
                    {"kind": NoticeKind.PROPOSAL_ENDING.value, "params.round_id": reminder.target}
                )
                if not still_open:
                    continue
                params["open"] = str(len(still_open))
            for to in reminder.to:
                recipient = Contact("coordinators") if to == "contact:coordinators" else Ref(to)
                intents.append(
                    Intent(
                        recipient,
                        reminder.kind,
                        reminder.fact,
                        reminder.lead,
                        reminder.program_id,
                        reminder.target,
                        params,
                    )
                )
        await self._tell(intents, uow)
        return len(due)

    async def send_digests(self, cmd: SendDigests, uow: IdentityUnitOfWork) -> int:
        now = self.clock()
        monday = datetime.combine(now.date() - timedelta(days=now.weekday()), time(), tzinfo=UTC)
        waiting = await uow.notices.find(
            {"email": "digest", "created_at": {"$lt": stamp(monday)}}, SWEEP_BATCH * 4
        )
        by_person: dict[str, list[Notice]] = {}
        for notice in waiting:
            by_person.setdefault(notice.recipient, []).append(notice)
        rows = []
        for recipient, notices in by_person.items():
            digest = digest_id(recipient, monday.date().isoformat())
            for notice in notices:
                notice.email = "queued"
            rows.append(
                {
                    # Due since its oldest notice: digests waiting longest go first.
                    **mail_row(notices[0], min(n.created_at for n in notices)),
                    "_id": digest,
                    "recipient": recipient,
                    "digest": sorted(n.id for n in notices),
                }
            )
        # One digest per person and week: a second sweep finds their notices queued.
        await uow.queue_mail(rows)
        return len(rows)

    async def mark_read(self, cmd: MarkRead, uow: IdentityUnitOfWork) -> int:
        query: dict[str, Any] = {"recipient": cmd.participant_id}
        if cmd.notice_ids:
            query["_id"] = {"$in": cmd.notice_ids}
        else:
            query["read_at"] = None
        notices = await uow.notices.find(query)
        if cmd.notice_ids and len(notices) < len(set(cmd.notice_ids)):
            raise NotFound("no such notice of yours", field="notice_ids")
        now = self.clock()
        unread = [n for n in notices if n.read_at is None]
        for notice in unread:
            notice.read_at = now
        return len(unread)

    async def set_preferences(self, cmd: SetPreferences, uow: IdentityUnitOfWork) -> None:
        held = await uow.notice_preferences.get(cmd.participant_id)
        if held is None:
            uow.notice_preferences.add(
                NoticePreferences(id=cmd.participant_id, **cmd.preferences.model_dump())
            )
        else:
            held.email, held.frequency = cmd.preferences.email, cmd.preferences.frequency

    def handlers(self) -> Handlers:
        return {
            NoticeEvent: self.on_event,
            SendReminders: self.send_reminders,
            SendDigests: self.send_digests,
            MarkRead: self.mark_read,
            SetPreferences: self.set_preferences,
        }
