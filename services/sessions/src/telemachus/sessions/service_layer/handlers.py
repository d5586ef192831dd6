"""Sessions' use cases, all listed in `handlers()`."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime

from telemachus.sessions.domain import commands
from telemachus.sessions.domain.availability import WeeklyAvailability
from telemachus.sessions.domain.model import (
    Availability,
    CalendarFeed,
    ExitRecord,
    PrivateNote,
    ProgramSettings,
    Relationship,
    RelationshipStatus,
    SessionStatus,
    new_id,
)
from telemachus.sessions.domain.preparation import (
    GroundRules,
    PreparationRecord,
    Readiness,
)
from telemachus.sessions.service_layer.unit_of_work import SessionsUnitOfWork
from telemachus.shared.clock import Clock, utc_now
from telemachus.shared.errors import DomainError, Forbidden, found
from telemachus.shared.runtime.bus import Handlers, Prefetches
from telemachus.shared.runtime.views import led_programs
from telemachus.shared.security.access import participant_ref, require_lead_coordinator
from telemachus.shared.security.tokens import Principal

LIVE = [SessionStatus.PROPOSED.value, SessionStatus.SCHEDULED.value]


def feed_key(secret: str) -> str:
    """Feeds are stored by the hash of their secret: a leaked store leaks no URL."""
    return hashlib.sha256(secret.encode()).hexdigest()


class SessionsHandlers:
    def __init__(self, institution: str, clock: Clock = utc_now) -> None:
        self.institution = institution
        self.clock = clock

    # -- facts from other services ------------------------------------------------------

    async def open_relationship(
        self, cmd: commands.OpenRelationship, uow: SessionsUnitOfWork
    ) -> Relationship | None:
        if await uow.relationships.get(Relationship.id_for(cmd.pairing_id)) is not None:
            return None  # a redelivered PairingConfirmed opens nothing more
        relationship = Relationship.open(**cmd.model_dump())
        uow.relationships.add(relationship)
        return relationship

    async def record_program(self, cmd: commands.RecordProgram, uow: SessionsUnitOfWork) -> None:
        program = await uow.programs.get(cmd.program_id)
        if program is None:
            uow.programs.add(ProgramSettings(id=cmd.program_id, **cmd.model_dump()))
        else:
            program.partner_institutions = cmd.partner_institutions
            program.reporting_threshold = cmd.reporting_threshold

    async def record_availability(
        self, cmd: commands.RecordAvailability, uow: SessionsUnitOfWork
    ) -> None:
        key = Availability.key(cmd.program_id, cmd.participant_ref)
        existing = await uow.availability.get(key)
        if existing is None:
            uow.availability.add(Availability(id=key, **cmd.model_dump()))
        else:
            existing.time_zone, existing.slots = cmd.time_zone, cmd.slots

    async def participant_left(
        self, cmd: commands.ParticipantLeft, uow: SessionsUnitOfWork
    ) -> None:
        """Their relationships in the program end; their private notes, the agreements and
        the places and links of their sessions are erased (see Relationship.forget)."""
        ref = cmd.participant_ref
        today = self.clock().date()
        for relationship in await uow.relationships.find(
            {
                "program_id": cmd.program_id,
                "$or": [{"mentor_ref": ref}, {"mentee_ref": ref}],
            }
        ):
            await uow.notes.remove_where({"relationship_id": relationship.id, "author_ref": ref})
            if relationship.status is RelationshipStatus.ACTIVE:
                relationship.end(None, today, withdrawn=True)
            relationship.forget(ref)
        availability = await uow.availability.get(Availability.key(cmd.program_id, ref))
        if availability is not None:
            uow.availability.remove(availability)
        if not await uow.relationships.find(
            {
                "$or": [{"mentor_ref": ref}, {"mentee_ref": ref}],
                "program_id": {"$ne": cmd.program_id},
            }
        ):
            await uow.feeds.remove_where({"participant_ref": ref})

    async def pause(self, cmd: commands.PauseRelationship, uow: SessionsUnitOfWork) -> None:
        relationship = found(
            await uow.relationships.get(cmd.relationship_id),
            f"relationship {cmd.relationship_id}",
            field="relationship_id",
        )
        relationship.pause(cmd.hold_id)

    async def resume(self, cmd: commands.ResumeRelationship, uow: SessionsUnitOfWork) -> None:
        relationship = found(
            await uow.relationships.get(cmd.relationship_id),
            f"relationship {cmd.relationship_id}",
            field="relationship_id",
        )
        relationship.resume(cmd.hold_id)

    # -- participants -------------------------------------------------------------------

    async def _mine(
        self, cmd: commands.ByParticipant, uow: SessionsUnitOfWork
    ) -> tuple[Relationship, str]:
        me = participant_ref(cmd.principal)
        relationship = found(
            await uow.relationships.get(cmd.relationship_id),
            f"relationship {cmd.relationship_id}",
            field="relationship_id",
        )
        relationship.require_party(me)
        return relationship, me

    async def _checks(
        self, uow: SessionsUnitOfWork, relationship: Relationship, moving: str | None = None
    ) -> tuple[
        Callable[[str, datetime, datetime], bool], Callable[[str, datetime, datetime], bool]
    ]:
        """Availability (when shared) and other sessions of both people, across all their
        relationships here."""
        weekly: dict[str, WeeklyAvailability] = {}
        for ref in relationship.parties:
            stored = await uow.availability.get(Availability.key(relationship.program_id, ref))
            if stored is not None and stored.time_zone and stored.slots:
                weekly[ref] = WeeklyAvailability.model_validate(
                    {"time_zone": stored.time_zone, "slots": stored.slots}
                )
        others = await uow.relationships.find(
            {
                "_id": {"$ne": relationship.id},
                "status": RelationshipStatus.ACTIVE.value,
                "$or": [
                    {"mentor_ref": {"$in": list(relationship.parties)}},
                    {"mentee_ref": {"$in": list(relationship.parties)}},
                ],
            }
        )

        def available(ref: str, start: datetime, end: datetime) -> bool:
            return ref not in weekly or weekly[ref].covers(start, end)

        def busy(ref: str, start: datetime, end: datetime) -> bool:
            return any(
                ref in other.parties and s.status.value in LIVE and s.overlaps(start, end)
                for other in others
                for s in other.sessions
            )

        return available, busy

    async def _program(self, uow: SessionsUnitOfWork, program_id: str) -> ProgramSettings:
        return await uow.programs.get(program_id) or ProgramSettings(id=program_id)

    async def _readiness(self, uow: SessionsUnitOfWork, relationship: Relationship) -> Readiness:
        program = await self._program(uow, relationship.program_id)
        records = {}
        for ref in relationship.parties:
            key = PreparationRecord.key(relationship.program_id, ref)
            if (record := await uow.preparation.get(key)) is not None:
                records[ref] = record
        return relationship.readiness(program, records)

    async def propose_agreement(
        self, cmd: commands.ProposeAgreement, uow: SessionsUnitOfWork
    ) -> Relationship:
        relationship, me = await self._mine(cmd, uow)
        program = await self._program(uow, relationship.program_id)
        relationship.propose_agreement(me, cmd.terms, self.clock(), program.ground_rules.version)
        return relationship

    async def _circle(
        self, cmd: commands.ByCircleLead, uow: SessionsUnitOfWork
    ) -> tuple[list[Relationship], str]:
        """The circle's active relationships, if `cmd`'s participant leads it."""
        me = participant_ref(cmd.principal)
        seats = await uow.relationships.find(
            {"circle_id": cmd.circle_id, "status": RelationshipStatus.ACTIVE.value}
        )
        found(seats or None, f"active circle {cmd.circle_id}", field="circle_id")
        if any(r.mentor_ref != me for r in seats):
            raise Forbidden("only the circle's lead acts for the whole circle", field="circle_id")
        return sorted(seats, key=lambda r: r.mentee_ref), me

    async def propose_circle_agreement(
        self, cmd: commands.ProposeCircleAgreement, uow: SessionsUnitOfWork
    ) -> list[Relationship]:
        """One agreement for the circle: the same terms and ground rules on each member's
        relationship, each member confirming their own."""
        seats, me = await self._circle(cmd, uow)
        now = self.clock()
        for relationship in seats:
            program = await self._program(uow, relationship.program_id)
            relationship.propose_agreement(me, cmd.terms, now, program.ground_rules.version)
        return seats

    async def propose_circle_session(
        self, cmd: commands.ProposeCircleSession, uow: SessionsUnitOfWork
    ) -> list[Relationship]:
        """One meeting for the circle, proposed on each member's relationship under one
        group id, each member confirming their own. All or none: a member not ready, not
        available or busy refuses the whole meeting, and is named."""
        seats, me = await self._circle(cmd, uow)
        group_id = new_id("meeting")
        for relationship in seats:
            # Reads what is stored: the seats proposed above are not busy time yet.
            try:
                await self._propose(uow, relationship, me, cmd, group_id)
            except DomainError as refused:
                raise type(refused)(
                    f"{relationship.mentee_ref}: {refused.reason}", field=refused.field
                ) from None
        return seats

    async def confirm_agreement(
        self, cmd: commands.ConfirmAgreement, uow: SessionsUnitOfWork
    ) -> Relationship:
        relationship, me = await self._mine(cmd, uow)
        relationship.confirm_agreement(me, cmd.revision, self.clock())
        return relationship

    async def propose_session(
        self, cmd: commands.ProposeSession, uow: SessionsUnitOfWork
    ) -> Relationship:
        relationship, me = await self._mine(cmd, uow)
        await self._propose(uow, relationship, me, cmd)
        return relationship

    async def _propose(
        self,
        uow: SessionsUnitOfWork,
        relationship: Relationship,
        me: str,
        new: commands.NewSession,
        group_id: str | None = None,
    ) -> None:
        available, busy = await self._checks(uow, relationship)
        relationship.propose_session(
            me,
            starts_at=new.starts_at,
            minutes=new.minutes,
            format=new.format,
            place=new.place,
            link=new.link,
            now=self.clock(),
            available=available,
            busy=busy,
            readiness=await self._readiness(uow, relationship),
            group_id=group_id,
        )

    async def confirm_session(
        self, cmd: commands.ConfirmSession, uow: SessionsUnitOfWork
    ) -> Relationship:
        relationship, me = await self._mine(cmd, uow)
        relationship.confirm_session(me, cmd.session_id, await self._readiness(uow, relationship))
        return relationship

    async def reschedule(
        self, cmd: commands.RescheduleSession, uow: SessionsUnitOfWork
    ) -> Relationship:
        relationship, me = await self._mine(cmd, uow)
        available, busy = await self._checks(uow, relationship)
        relationship.reschedule(
            me,
            cmd.session_id,
            starts_at=cmd.starts_at,
            minutes=cmd.minutes,
            now=self.clock(),
            available=available,
            busy=busy,
        )
        return relationship

    async def cancel(self, cmd: commands.CancelSession, uow: SessionsUnitOfWork) -> Relationship:
        relationship, me = await self._mine(cmd, uow)
        relationship.cancel(me, cmd.session_id)
        return relationship

    async def record_attendance(
        self, cmd: commands.RecordAttendance, uow: SessionsUnitOfWork
    ) -> Relationship:
        relationship, me = await self._mine(cmd, uow)
        now = self.clock()
        relationship.record_attendance(me, cmd.session_id, cmd.attended, now)
        if cmd.note:
            uow.notes.add(
                PrivateNote(
                    id=PrivateNote.key(relationship.id, cmd.session_id, me),
                    relationship_id=relationship.id,
                    session_id=cmd.session_id,
                    author_ref=me,
                    text=cmd.note,
                    written_at=now,
                )
            )
        return relationship

    async def exit(self, cmd: commands.ExitRelationship, uow: SessionsUnitOfWork) -> Relationship:
        relationship, me = await self._mine(cmd, uow)
        now = self.clock()
        relationship.end(me, now.date())
        uow.exits.add(ExitRecord.of(relationship.program_id, cmd.reason))
        if cmd.rematch:
            relationship.request_rematch(me, now)
        return relationship

    async def rematch(self, cmd: commands.RequestRematch, uow: SessionsUnitOfWork) -> Relationship:
        relationship, me = await self._mine(cmd, uow)
        relationship.request_rematch(me, self.clock())
        return relationship

    async def open_calendar(self, cmd: commands.OpenCalendar, uow: SessionsUnitOfWork) -> str:
        """A new secret feed URL; any earlier one stops working."""
        me = participant_ref(cmd.principal)
        await uow.feeds.remove_where({"participant_ref": me})
        secret = secrets.token_urlsafe(24)
        uow.feeds.add(
            CalendarFeed(
                id=feed_key(secret),
                participant_ref=me,
                created_at=self.clock(),
                time_zone=cmd.time_zone,
            )
        )
        return secret

    async def close_calendar(self, cmd: commands.CloseCalendar, uow: SessionsUnitOfWork) -> int:
        return await uow.feeds.remove_where({"participant_ref": participant_ref(cmd.principal)})

    # -- coordinators and the sweep -----------------------------------------------------

    async def set_program_settings(
        self, cmd: commands.SetProgramSettings, uow: SessionsUnitOfWork
    ) -> ProgramSettings:
        program = await self._led_program(cmd.principal, cmd.program_id, uow)
        program.stall_weeks = cmd.stall_weeks
        return program

    async def _led_program(
        self, principal: Principal, program_id: str, uow: SessionsUnitOfWork
    ) -> ProgramSettings:
        require_lead_coordinator(principal, self.institution, program_id)
        return await led_programs(uow.programs.get, self.institution)(program_id)

    async def set_ground_rules(
        self, cmd: commands.SetGroundRules, uow: SessionsUnitOfWork
    ) -> ProgramSettings:
        """A new version: every relationship agrees to its learning agreement again."""
        program = await self._led_program(cmd.principal, cmd.program_id, uow)
        if cmd.rules != program.ground_rules.rules:
            program.ground_rules = GroundRules(
                version=program.ground_rules.version + 1, rules=cmd.rules
            )
        return program

    async def set_preparation(
        self, cmd: commands.SetPreparation, uow: SessionsUnitOfWork
    ) -> ProgramSettings:
        program = await self._led_program(cmd.principal, cmd.program_id, uow)
        program.preparation = cmd.preparation
        return program

    async def complete_module(
        self, cmd: commands.CompleteModule, uow: SessionsUnitOfWork
    ) -> PreparationRecord:
        me = participant_ref(cmd.principal)
        program = await led_programs(uow.programs.get, self.institution)(cmd.program_id)
        module = program.preparation.module(cmd.module_id)
        key = PreparationRecord.key(cmd.program_id, me)
        record = await uow.preparation.get(key)
        if record is None:
            record = PreparationRecord(id=key, program_id=cmd.program_id, participant_ref=me)
            uow.preparation.add(record)
        record.complete(module, cmd.answer, self.clock())
        return record

    async def review(self, cmd: commands.ReviewRelationships, uow: SessionsUnitOfWork) -> int:
        today = self.clock().date()
        stall = {p.id: p.stall_weeks for p in await uow.programs.find({})}
        changed = 0
        for relationship in await uow.relationships.find(
            {"status": RelationshipStatus.ACTIVE.value}
        ):
            before = (relationship.status, relationship.stalled_since)
            relationship.review(today, stall.get(relationship.program_id, 3))
            changed += before != (relationship.status, relationship.stalled_since)
        return changed

    @staticmethod
    def prefetches() -> Prefetches:
        """What a batch of these commands reads, read at once (MessageBus)."""

        async def availability(
            cmds: list[commands.RecordAvailability], uow: SessionsUnitOfWork
        ) -> None:
            await uow.availability.load(
                Availability.key(c.program_id, c.participant_ref) for c in cmds
            )

        async def relationships(
            cmds: list[commands.OpenRelationship], uow: SessionsUnitOfWork
        ) -> None:
            # A round's confirmations arrive together: whether each is open already is one
            # read for the batch, not one per confirmation.
            await uow.relationships.load(Relationship.id_for(c.pairing_id) for c in cmds)

        return {
            commands.RecordAvailability: availability,
            commands.OpenRelationship: relationships,
        }

    def handlers(self) -> Handlers:
        return {
            commands.OpenRelationship: self.open_relationship,
            commands.RecordProgram: self.record_program,
            commands.RecordAvailability: self.record_availability,
            commands.ParticipantLeft: self.participant_left,
            commands.PauseRelationship: self.pause,
            commands.ResumeRelationship: self.resume,
            commands.ProposeAgreement: self.propose_agreement,
            commands.ConfirmAgreement: self.confirm_agreement,
            commands.ProposeCircleAgreement: self.propose_circle_agreement,
            commands.ProposeCircleSession: self.propose_circle_session,
            commands.ProposeSession: self.propose_session,
            commands.ConfirmSession: self.confirm_session,
            commands.RescheduleSession: self.reschedule,
            commands.CancelSession: self.cancel,
            commands.RecordAttendance: self.record_attendance,
            commands.ExitRelationship: self.exit,
            commands.RequestRematch: self.rematch,
            commands.OpenCalendar: self.open_calendar,
            commands.CloseCalendar: self.close_calendar,
            commands.SetProgramSettings: self.set_program_settings,
            commands.ReviewRelationships: self.review,
            commands.SetGroundRules: self.set_ground_rules,
            commands.SetPreparation: self.set_preparation,
            commands.CompleteModule: self.complete_module,
        }
