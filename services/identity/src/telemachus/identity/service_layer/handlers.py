"""Identity's use cases: short functions, one per command, all listed in `handlers()`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telemachus.identity.domain import commands
from telemachus.identity.domain.invitations import Invitation, InvitationSummary
from telemachus.identity.domain.participants import (
    ContactRelease,
    Enrolment,
    Participant,
    Tombstone,
)
from telemachus.identity.domain.programs import Program, new_id
from telemachus.identity.service_layer.import_report import (
    UNIQUE_FIELDS,
    ImportRefused,
    ImportReport,
    RowResult,
    repeated,
)
from telemachus.identity.service_layer.unit_of_work import IdentityUnitOfWork
from telemachus.shared.clock import Clock, utc_now
from telemachus.shared.errors import Conflict, Forbidden, NotFound, Rejected, found
from telemachus.shared.runtime.bus import Handlers, Prefetches
from telemachus.shared.security.registry import TrustRegistry

# Profile fields that exist for everyone: a change may replace them, never clear them.
REQUIRED_PROFILE = frozenset(
    {
        "display_name",
        "work_email",
        "profession",
        "career_stage",
        "topics_offered",
        "topics_sought",
        "languages",
        "max_relationships",
    }
)


def home_of(ref: str) -> str:
    return ref.split(":", 1)[0]


def local_id(ref: str) -> str:
    return ref.split(":", 1)[1]


class IdentityHandlers:
    def __init__(
        self,
        institution: str,
        trust: TrustRegistry,
        clock: Clock = utc_now,
    ) -> None:
        self.institution = institution
        self.trust = trust
        self.clock = clock

    # Programs ---------------------------------------------------------------------------

    def _check_partners(self, partners: list[str]) -> None:
        unknown = [p for p in partners if self.trust.get(p) is None]
        if unknown:
            raise Rejected(
                f"not in the federation's trust registry: {', '.join(unknown)}",
                field="partner_institutions",
            )

    async def publish_program(
        self, cmd: commands.PublishProgram, uow: IdentityUnitOfWork
    ) -> Program:
        self._check_partners(cmd.partner_institutions)
        program = Program.publish(
            lead_institution=self.institution,
            known_topics=await uow.topic_ids(),
            **cmd.model_dump(),
        )
        uow.programs.add(program)
        return program

    async def update_program(self, cmd: commands.UpdateProgram, uow: IdentityUnitOfWork) -> Program:
        program = found(
            await uow.programs.get(cmd.program_id), f"program {cmd.program_id}", field="program_id"
        )
        program.check_led_by(self.institution)
        changes = cmd.changes.model_dump(exclude_none=True)
        self._check_partners(changes.get("partner_institutions", []))
        program.update(changes, await uow.topic_ids())
        return program

    async def record_partner_program(
        self, cmd: commands.RecordPartnerProgram, uow: IdentityUnitOfWork
    ) -> None:
        if cmd.announced_by != cmd.lead_institution:
            raise Forbidden(
                f"{cmd.announced_by} published terms of {cmd.lead_institution}'s program"
            )
        if self.institution not in cmd.partner_institutions:
            return  # not ours to enrol people in
        terms = cmd.model_dump(exclude={"program_id", "announced_by"})
        program = await uow.programs.get(cmd.program_id)
        if program is None:
            uow.programs.add(Program(id=cmd.program_id, **terms))
        elif program.lead_institution != cmd.lead_institution:
            raise Forbidden(f"program {cmd.program_id} is led by {program.lead_institution}")
        else:
            program.replace_terms(terms)

    async def add_topic(self, cmd: commands.AddTopic, uow: IdentityUnitOfWork) -> None:
        if cmd.topic.id in await uow.topic_ids():
            raise Conflict(f"topic {cmd.topic.id} is already in the catalogue", field="id")
        await uow.add_topic(cmd.topic.id, cmd.topic.title)

    # Participants -----------------------------------------------------------------------

    async def _reporting_line(
        self, uow: IdentityUnitOfWork, manager_id: str | None, own_ref: str | None = None
    ) -> list[str]:
        if manager_id is None:
            return []
        manager = await uow.participants.get(manager_id)
        if manager is None:
            raise Rejected(f"no participant {manager_id} here", field="line_manager_id")
        line = [manager.ref, *manager.reporting_line]
        if own_ref is not None and own_ref in line:
            raise Rejected(
                "a person cannot be in their own reporting line", field="line_manager_id"
            )
        return line

    def _new_participant(self, cmd: commands.RegisterParticipant, line: list[str]) -> Participant:
        data = cmd.model_dump(exclude={"subject"})
        return Participant(
            id=new_id(),
            home_institution=self.institution,
            subject=cmd.subject or str(cmd.work_email),
            registered_at=self.clock(),
            reporting_line=line,
            **data,
        )

    async def register_participant(
        self, cmd: commands.RegisterParticipant, uow: IdentityUnitOfWork
    ) -> Participant:
        participant = self._new_participant(
            cmd, await self._reporting_line(uow, cmd.line_manager_id)
        )
        for field in UNIQUE_FIELDS:
            if await uow.taken(field, [getattr(participant, field)]):
                raise Conflict(f"another participant has this {field}", field=field)
        uow.participants.add(participant)
        return participant

    async def import_participants(
        self, cmd: commands.ImportParticipants, uow: IdentityUnitOfWork
    ) -> ImportReport:
        """Rows that passed form checks meet the checks that need the store; one transaction."""
        people = [self._new_participant(row, []) for row in cmd.rows]
        taken = {
            field: await uow.taken(field, [getattr(p, field) for p in people])
            for field in UNIQUE_FIELDS
        }
        seen: dict[str, set[str]] = {field: set() for field in UNIQUE_FIELDS}
        managers: dict[str, Participant | None] = {}
        results = [
            RowResult(line=r.line, status="refused", field=r.field, reason=r.reason)
            for r in cmd.refused
        ]
        accepted: list[Participant] = []
        for line, row, person in zip(cmd.line_numbers, cmd.rows, people, strict=True):
            problem = repeated(person, taken, seen)
            if problem is None and row.line_manager_id:
                if row.line_manager_id not in managers:
                    managers[row.line_manager_id] = await uow.participants.get(row.line_manager_id)
                manager = managers[row.line_manager_id]
                if manager is None:
                    problem = ("line_manager_id", "no such participant here")
                else:
                    person.reporting_line = [manager.ref, *manager.reporting_line]
            if problem:
                results.append(
                    RowResult(line=line, status="refused", field=problem[0], reason=problem[1])
                )
                continue
            for field in UNIQUE_FIELDS:
                seen[field].add(getattr(person, field))
            accepted.append(person)
            results.append(RowResult(line=line, status="accepted", participant_id=person.id))
        results.sort(key=lambda r: r.line)
        report = ImportReport(
            imported=len(accepted), refused=len(results) - len(accepted), rows=results
        )
        if report.refused and not cmd.accept_valid:
            raise ImportRefused(report.model_copy(update={"imported": 0}))
        for person in accepted:
            uow.participants.add(person)
        return report

    async def apply_roster_chunk(
        self, cmd: commands.ApplyRosterChunk, uow: IdentityUnitOfWork
    ) -> int:
        """Part of a planned re-sync (roster_sync.py): the unique indexes still guard a
        change someone made since it was planned."""
        for row in cmd.creates:
            uow.participants.add(
                self._new_participant(row, await self._reporting_line(uow, row.line_manager_id))
            )
        people = {
            p.id: p
            for p in await uow.participants.find(
                {"_id": {"$in": [u.participant_id for u in cmd.updates]}}
            )
        }
        for update in cmd.updates:
            person = people.get(update.participant_id)
            if person is None:
                raise Conflict(
                    f"participant {update.participant_id} was erased since the sync was planned",
                    field="file",
                )
            person.update_profile(update.changes)
        return len(cmd.creates) + len(cmd.updates)

    async def update_profile(
        self, cmd: commands.UpdateProfile, uow: IdentityUnitOfWork
    ) -> Participant:
        participant = await self._participant(uow, cmd.participant_id)
        changes: dict[str, Any] = cmd.changes.model_dump(exclude_unset=True)
        for field, value in changes.items():
            if value is None and field in REQUIRED_PROFILE:
                raise Rejected("cannot be cleared, only replaced", field=field)
        for field in UNIQUE_FIELDS:
            new_value = changes.get(field, getattr(participant, field))
            if new_value != getattr(participant, field) and await uow.taken(field, [new_value]):
                raise Conflict(f"another participant has this {field}", field=field)
        if "line_manager_id" in changes:
            if changes["line_manager_id"] == participant.id:
                raise Rejected("a person cannot manage themselves", field="line_manager_id")
            changes["reporting_line"] = await self._reporting_line(
                uow, changes["line_manager_id"], participant.ref
            )
        participant.update_profile(changes)
        if "reporting_line" in changes:
            await self._follow_reporting_line(uow, participant)
        return participant

    @staticmethod
    async def _participant(uow: IdentityUnitOfWork, participant_id: str) -> Participant:
        return found(
            await uow.participants.get(participant_id),
            f"participant {participant_id}",
            field="participant_id",
        )

    async def _follow_reporting_line(self, uow: IdentityUnitOfWork, manager: Participant) -> None:
        """People below `manager` see the new chain above them too."""
        for report in await uow.participants.find({"reporting_line": manager.ref}):
            below = report.reporting_line[: report.reporting_line.index(manager.ref) + 1]
            report.update_profile({"reporting_line": [*below, *manager.reporting_line]})

    async def enrol_participant(
        self, cmd: commands.EnrolParticipant, uow: IdentityUnitOfWork
    ) -> Participant:
        participant = await self._participant(uow, cmd.participant_id)
        program = await uow.programs.get(cmd.program_id)
        if program is None:
            raise Rejected(f"no program {cmd.program_id} is known here", field="program_id")
        participant.enrol(program, cmd.consented_fields, self.clock())
        return participant

    # Invitations -------------------------------------------------------------------------

    async def invite_to_program(
        self, cmd: commands.InviteToProgram, uow: IdentityUnitOfWork
    ) -> InvitationSummary:
        """One transaction for a whole cohort; who was not invited, and why, is reported."""
        program = await uow.programs.get(cmd.program_id)
        if program is None:
            raise Rejected(f"no program {cmd.program_id} is known here", field="program_id")
        now = self.clock()
        program.check_open_to(self.institution, now.date())
        wanted = list(cmd.participant_ids)
        if cmd.cohort_id is not None:
            cohort = found(
                await uow.cohorts.get(cmd.cohort_id), f"cohort {cmd.cohort_id}", field="cohort_id"
            )
            wanted += cohort.member_ids
        people = await uow.participants.find(
            {
                "$or": [
                    {"_id": {"$in": wanted}},
                    # As written, or in lower case (the usual way HR systems export them).
                    {
                        "work_email": {
                            "$in": [*cmd.work_emails, *(e.lower() for e in cmd.work_emails)]
                        }
                    },
                ]
            }
        )
        ids = {p.id for p in people}
        emails = {str(p.work_email).lower() for p in people}
        summary = InvitationSummary(
            unknown=[i for i in wanted if i not in ids]
            + [e for e in cmd.work_emails if e.lower() not in emails and e not in emails]
        )
        pending = {
            i.participant_id
            for i in await uow.invitations.find(
                {"program_id": program.id, "participant_id": {"$in": [p.id for p in people]}}
            )
        }
        for person in people:
            if person.active_enrolment(program.id):
                summary.already_enrolled.append(person.id)
            elif person.id in pending:
                summary.already_invited.append(person.id)
            else:
                uow.invitations.add(
                    Invitation.issue(
                        program.id, person.id, cmd.invited_by, now, cmd.expires_in_days
                    )
                )
                summary.invited.append(person.id)
        return summary

    async def accept_invitation(
        self, cmd: commands.AcceptInvitation, uow: IdentityUnitOfWork
    ) -> Enrolment:
        """The person's own consent: only now are they enrolled, and the fact published."""
        invitation = await self._invitation(uow, cmd.invitation_id, cmd.participant_id)
        invitation.check_open(self.clock())
        participant = await self._participant(uow, cmd.participant_id)
        program = await uow.programs.get(invitation.program_id)
        if program is None:
            raise Rejected(f"program {invitation.program_id} is gone", field="invitation_id")
        enrolment = participant.enrol(program, cmd.consented_fields, self.clock())
        uow.invitations.remove(invitation)
        return enrolment

    async def decline_invitation(
        self, cmd: commands.DeclineInvitation, uow: IdentityUnitOfWork
    ) -> None:
        """Declined: the invitation is deleted; nothing of it remains."""
        uow.invitations.remove(await self._invitation(uow, cmd.invitation_id, cmd.participant_id))

    async def purge_expired_invitations(
        self, cmd: commands.PurgeExpiredInvitations, uow: IdentityUnitOfWork
    ) -> int:
        now = cmd.as_of or self.clock()
        # Times are stored as ISO text: the day narrows the read, datetimes decide.
        day_after = (now.date() + timedelta(days=1)).isoformat()
        expired = [
            i
            for i in await uow.invitations.find({"expires_at": {"$lt": day_after}})
            if i.expires_at <= now
        ]
        for invitation in expired:
            uow.invitations.remove(invitation)
        return len(expired)

    @staticmethod
    async def _invitation(
        uow: IdentityUnitOfWork, invitation_id: str, participant_id: str
    ) -> Invitation:
        invitation = await uow.invitations.get(invitation_id)
        # Someone else's invitation is as unknown to you as one that does not exist.
        if invitation is None or invitation.participant_id != participant_id:
            raise NotFound(f"no invitation {invitation_id} for you", field="invitation_id")
        return invitation

    async def withdraw_participant(
        self, cmd: commands.WithdrawParticipant, uow: IdentityUnitOfWork
    ) -> Participant:
        participant = await self._participant(uow, cmd.participant_id)
        participant.withdraw(cmd.program_id, self.clock())
        await self._end_releases(uow, participant.ref, cmd.program_id)
        return participant

    async def consent_to_recognition(
        self, cmd: commands.ConsentToRecognition, uow: IdentityUnitOfWork
    ) -> Participant:
        participant = await self._participant(uow, cmd.participant_id)
        participant.consent_to_recognition(cmd.program_id, cmd.consent, self.clock())
        return participant

    async def erase_participant(
        self, cmd: commands.EraseParticipant, uow: IdentityUnitOfWork
    ) -> Tombstone:
        participant = await self._participant(uow, cmd.participant_id)
        tombstone = Tombstone.erase(participant, self.clock(), cmd.requested_by)
        uow.participants.remove(participant)
        await self._end_releases(uow, participant.ref)
        await uow.forget_outbox_rows(participant.ref)
        await uow.forget_notices(participant.id, participant.ref)
        uow.tombstones.add(tombstone)
        return tombstone

    # Contacts ---------------------------------------------------------------------------

    async def release_contacts(
        self, cmd: commands.ReleaseContacts, uow: IdentityUnitOfWork
    ) -> None:
        """Our side of a confirmed pairing: its counterpart may now read our person's card
        from us (GET /contact-cards/{pairing_id}); nothing personal is published."""
        program = await uow.programs.get(cmd.program_id)
        if program is None:
            return  # a program none of our people are in
        if cmd.announced_by != program.lead_institution:
            raise Forbidden(
                f"{cmd.announced_by} announced a pairing of {program.lead_institution}'s program"
            )
        pairs = ((cmd.mentor_ref, cmd.mentee_ref), (cmd.mentee_ref, cmd.mentor_ref))
        for ref, counterpart in pairs:
            if home_of(ref) != self.institution:
                continue
            person = await uow.participants.get(local_id(ref))
            if person is None or person.active_enrolment(cmd.program_id) is None:
                continue  # withdrew or was erased since: nothing to release
            key = ContactRelease.key(cmd.pairing_id, ref)
            if await uow.releases.get(key) is None:
                uow.releases.add(
                    ContactRelease(
                        id=key,
                        pairing_id=cmd.pairing_id,
                        program_id=cmd.program_id,
                        participant_ref=ref,
                        counterpart_ref=counterpart,
                        released_at=self.clock(),
                    )
                )

    async def _end_releases(
        self, uow: IdentityUnitOfWork, ref: str, program_id: str | None = None
    ) -> None:
        """`ref` left (one program, or all when erased): their card is no longer given, and
        they may no longer read their counterparts' cards."""
        scope = {} if program_id is None else {"program_id": program_id}
        for side in ("participant_ref", "counterpart_ref"):
            await uow.releases.remove_where({side: ref, **scope})

    async def forget_withdrawn(
        self, cmd: commands.ForgetWithdrawn, uow: IdentityUnitOfWork
    ) -> None:
        if cmd.announced_by != home_of(cmd.participant_ref):
            raise Forbidden(f"{cmd.announced_by} withdrew another institution's participant")
        await self._end_releases(uow, cmd.participant_ref, None if cmd.erased else cmd.program_id)

    @staticmethod
    def prefetches() -> Prefetches:
        """What a group of these commands reads, read at once (MessageBus)."""

        async def people(cmds: list[commands.EnrolParticipant], uow: IdentityUnitOfWork) -> None:
            await uow.participants.load(c.participant_id for c in cmds)

        return {commands.EnrolParticipant: people}

    def handlers(self) -> Handlers:
        return {
            commands.PublishProgram: self.publish_program,
            commands.UpdateProgram: self.update_program,
            commands.RecordPartnerProgram: self.record_partner_program,
            commands.AddTopic: self.add_topic,
            commands.RegisterParticipant: self.register_participant,
            commands.ImportParticipants: self.import_participants,
            commands.ApplyRosterChunk: self.apply_roster_chunk,
            commands.UpdateProfile: self.update_profile,
            commands.EnrolParticipant: self.enrol_participant,
            commands.InviteToProgram: self.invite_to_program,
            commands.AcceptInvitation: self.accept_invitation,
            commands.DeclineInvitation: self.decline_invitation,
            commands.PurgeExpiredInvitations: self.purge_expired_invitations,
            commands.WithdrawParticipant: self.withdraw_participant,
            commands.ConsentToRecognition: self.consent_to_recognition,
            commands.EraseParticipant: self.erase_participant,
            commands.ReleaseContacts: self.release_contacts,
            commands.ForgetWithdrawn: self.forget_withdrawn,
        }
