"""Feedback's use cases, all listed in `handlers()`."""

from __future__ import annotations

import os
from datetime import UTC, datetime, time, timedelta

from telemachus.feedback.domain import commands
from telemachus.feedback.domain.concerns import Concern
from telemachus.feedback.domain.evaluation_plan import EvaluationPlan, follow_up_opens
from telemachus.feedback.domain.instruments import WindowKind, instrument
from telemachus.feedback.domain.model import (
    UNDISCLOSED,
    FeedbackSettings,
    FeedbackWindow,
    Pairing,
    Participant,
    Program,
    Relationship,
    Response,
    WithdrawalPolicy,
    anonymous_ref,
)
from telemachus.feedback.service_layer.concern_readers import reader
from telemachus.feedback.service_layer.unit_of_work import FeedbackUnitOfWork
from telemachus.shared.clock import Clock, utc_now
from telemachus.shared.errors import found
from telemachus.shared.runtime.bus import Handlers, Prefetches
from telemachus.shared.runtime.documents import stamp
from telemachus.shared.security.access import (
    participant_ref,
    require_lead_coordinator,
)
from telemachus.shared.security.pseudonyms import keyed_code
from telemachus.shared.security.tokens import Principal


def involving(ref: str) -> dict[str, object]:
    return {"$or": [{"mentor_ref": ref}, {"mentee_ref": ref}]}


class FeedbackHandlers:
    def __init__(
        self, institution: str, pseudonym_key: bytes | None = None, clock: Clock = utc_now
    ) -> None:
        self.institution = institution
        # Without the institution's key, codes are stable only while this process lives.
        self._pseudonym_key = pseudonym_key or os.urandom(32)
        self.clock = clock

    def actor(self, principal: Principal) -> str:
        """Who acted, as a code stable per institution and subject: subjects (e-mails at
        another institution) stay at home."""
        code = keyed_code(
            self._pseudonym_key, "actor", f"{principal.institution}|{principal.subject}", 12
        )
        return f"{principal.institution}:coordinator-{code}"

    async def _settings(self, uow: FeedbackUnitOfWork, program_id: str) -> FeedbackSettings:
        program = await uow.programs.get(program_id)
        return program.settings if program else FeedbackSettings()

    async def _open_window(
        self,
        uow: FeedbackUnitOfWork,
        relationship: Relationship,
        kind: WindowKind,
        session_id: str | None = None,
    ) -> None:
        if await uow.windows.get(FeedbackWindow.id_for(relationship.id, kind, session_id)):
            return  # a redelivered fact opens nothing more
        settings = await self._settings(uow, relationship.program_id)
        uow.windows.add(
            FeedbackWindow.open(
                relationship,
                kind,
                now=self.clock(),
                length=settings.window_length(kind),
                session_id=session_id,
            )
        )

    # -- facts from other services ------------------------------------------------------

    async def record_program(self, cmd: commands.RecordProgram, uow: FeedbackUnitOfWork) -> None:
        program = await uow.programs.get(cmd.program_id)
        if program is None:
            uow.programs.add(
                Program(
                    id=cmd.program_id,
                    title=cmd.title,
                    partner_institutions=cmd.partner_institutions,
                    reporting_threshold=cmd.reporting_threshold,
                )
            )
            return
        program.title = cmd.title
        program.partner_institutions = cmd.partner_institutions
        program.reporting_threshold = cmd.reporting_threshold

    async def record_enrolment(
        self, cmd: commands.RecordEnrolment, uow: FeedbackUnitOfWork
    ) -> None:
        profession = cmd.profession or UNDISCLOSED
        key = Participant.key(cmd.program_id, cmd.participant_ref)
        participant = await uow.participants.get(key)
        if participant is None:
            uow.participants.add(
                Participant(
                    id=key,
                    program_id=cmd.program_id,
                    ref=cmd.participant_ref,
                    institution=cmd.institution,
                    profession=profession,
                    enrolled_at=self.clock(),
                    reporting_line=cmd.reporting_line,
                )
            )
        else:
            participant.profession = profession
            participant.reporting_line = cmd.reporting_line
        # Reports split relationships by the professions their people shared.
        for relationship in await uow.relationships.find(
            {"program_id": cmd.program_id, **involving(cmd.participant_ref)}
        ):
            if relationship.mentor_ref == cmd.participant_ref:
                relationship.mentor_profession = profession
            if relationship.mentee_ref == cmd.participant_ref:
                relationship.mentee_profession = profession

    async def record_pairing(self, cmd: commands.RecordPairing, uow: FeedbackUnitOfWork) -> None:
        pairing = await uow.pairings.get(cmd.pairing_id)
        if pairing is None:
            uow.pairings.add(Pairing(id=cmd.pairing_id, **cmd.model_dump(exclude={"pairing_id"})))
        else:
            pairing.learn(cmd.outcome)

    async def open_relationship(
        self, cmd: commands.OpenRelationship, uow: FeedbackUnitOfWork
    ) -> None:
        relationship = await uow.relationships.get(cmd.relationship_id)
        if relationship is None:
            professions = {}
            for role, ref in (("mentor", cmd.mentor_ref), ("mentee", cmd.mentee_ref)):
                person = await uow.participants.get(Participant.key(cmd.program_id, ref))
                professions[f"{role}_profession"] = person.profession if person else UNDISCLOSED
            relationship = Relationship(
                id=cmd.relationship_id,
                **cmd.model_dump(exclude={"relationship_id"}),
                **professions,
            )
            uow.relationships.add(relationship)
        await self._open_window(uow, relationship, WindowKind.BASELINE)

    async def session_held(self, cmd: commands.RecordSessionHeld, uow: FeedbackUnitOfWork) -> None:
        relationship = found(
            await uow.relationships.get(cmd.relationship_id),
            f"relationship {cmd.relationship_id}",
            field="relationship_id",
        )
        relationship.sessions_held = max(relationship.sessions_held, cmd.held_count)
        await self._open_window(uow, relationship, WindowKind.CHECK_IN, cmd.session_id)

    async def finish_relationship(
        self, cmd: commands.FinishRelationship, uow: FeedbackUnitOfWork
    ) -> None:
        relationship = found(
            await uow.relationships.get(cmd.relationship_id),
            f"relationship {cmd.relationship_id}",
            field="relationship_id",
        )
        relationship.finish(cmd.status, cmd.on, cmd.sessions_held)
        await self._open_window(uow, relationship, WindowKind.FINAL)
        await self._schedule_follow_ups(uow, relationship)

    async def _schedule_follow_ups(
        self, uow: FeedbackUnitOfWork, relationship: Relationship
    ) -> None:
        """Months after the end, on the day (from midnight UTC), as the program plans now."""
        if relationship.finished_on is None:
            return
        program = await uow.programs.get(relationship.program_id)
        plan = program.evaluation if program else EvaluationPlan()
        ended = datetime.combine(relationship.finished_on, time(), UTC)
        for months in plan.follow_up_months:
            window_id = FeedbackWindow.id_for(relationship.id, WindowKind.FOLLOW_UP, None, months)
            if await uow.windows.get(window_id):
                continue  # a redelivered end schedules nothing more
            uow.windows.add(
                FeedbackWindow.follow_up(
                    relationship,
                    months,
                    opens_at=follow_up_opens(ended, months),
                    length=timedelta(days=plan.follow_up_days),
                )
            )

    async def participant_left(
        self, cmd: commands.ParticipantLeft, uow: FeedbackUnitOfWork
    ) -> None:
        """The program's policy decides: erase their answers, or keep them anonymous."""
        ref, program_id = cmd.participant_ref, cmd.program_id
        policy = (await self._settings(uow, program_id)).withdrawal
        anonymous = anonymous_ref(ref)
        mine = {"program_id": program_id, "respondent_ref": ref}
        reported = {"program_id": program_id, "reporter_ref": ref}
        participant = await uow.participants.get(Participant.key(program_id, ref))
        if participant is not None:
            uow.participants.remove(participant)
        if policy is WithdrawalPolicy.ERASE:
            await uow.responses.remove_where(mine)
            await uow.concerns.remove_where(reported)
        else:
            for response in await uow.responses.find(mine):
                response.anonymise(anonymous)
            for concern in await uow.concerns.find(reported):
                concern.forget(ref, anonymous)
            if participant is not None:
                uow.participants.add(
                    participant.model_copy(
                        update={
                            "id": Participant.key(program_id, anonymous),
                            "ref": anonymous,
                            "withdrawn": True,
                            "version": 0,
                        }
                    )
                )
        # Concerns about a relationship they were in keep them out, without their ref.
        for concern in await uow.concerns.find({"program_id": program_id, "parties": ref}):
            concern.forget(ref, anonymous)
        # Relationships and pairings still count, no longer linked to the person.
        for repository in (uow.relationships, uow.pairings, uow.windows):
            for item in await repository.find({"program_id": program_id, **involving(ref)}):
                item.replace_party(ref, anonymous)

    async def shield_earlier_concerns(
        self, cmd: commands.ShieldEarlierConcerns, uow: FeedbackUnitOfWork
    ) -> int:
        earlier = await uow.concerns.find({"parties": {"$exists": False}})
        for concern in earlier:
            relationship = await uow.relationships.get(concern.relationship_id)
            # Without its relationship only the reporter is known; their line is unknown
            # either way, which keeps their institution's roster out.
            concern.parties = (
                [relationship.mentor_ref, relationship.mentee_ref]
                if relationship
                else [concern.reporter_ref]
            )
        return len(earlier)

    async def sweep(self, cmd: commands.Sweep, uow: FeedbackUnitOfWork) -> int:
        now = self.clock()
        # A concern nobody answered by its deadline escalates, once.
        for concern in await uow.concerns.find(
            {"updates": [], "escalated_at": None, "respond_by": {"$lte": stamp(now)}}
        ):
            concern.escalate(now)
        # Follow-ups scheduled for months ahead are not read until their day comes.
        windows = await uow.windows.find({"closed": False, "opens_at": {"$lte": stamp(now)}})
        if not windows:
            return 0
        answered: dict[str, set[tuple[str, str]]] = {}
        for response in await uow.responses.find({"window_id": {"$in": [w.id for w in windows]}}):
            answered.setdefault(response.window_id, set()).add(
                (response.respondent_ref, response.instrument)
            )
        settings: dict[str, FeedbackSettings] = {}
        for window in windows:
            if window.program_id not in settings:
                settings[window.program_id] = await self._settings(uow, window.program_id)
            done = {
                ref
                for ref in window.respondents.values()
                if all(
                    (ref, i.key) in answered.get(window.id, set())
                    for i in window.instruments_for(ref)
                )
            }
            window.open_if_due(now)
            window.remind(now, settings[window.program_id].remind_days_before, done)
            window.close_if_due(now)
        return len(windows)

    # -- participants -------------------------------------------------------------------

    async def give_feedback(self, cmd: commands.GiveFeedback, uow: FeedbackUnitOfWork) -> Response:
        me = participant_ref(cmd.principal)
        window = found(
            await uow.windows.get(cmd.window_id), f"window {cmd.window_id}", field="window_id"
        )
        asked = instrument(cmd.instrument)
        now = self.clock()
        response = Response.give(window, me, asked, cmd.answers, cmd.comment, now)
        earlier = await uow.responses.get(response.id)
        if earlier is None:
            uow.responses.add(response)
            return response
        earlier.amend(cmd.answers, cmd.comment, now)  # until the window closes
        return earlier

    async def report_concern(self, cmd: commands.ReportConcern, uow: FeedbackUnitOfWork) -> Concern:
        me = participant_ref(cmd.principal)
        relationship = found(
            await uow.relationships.get(cmd.relationship_id),
            f"relationship {cmd.relationship_id}",
            field="relationship_id",
        )
        reporter = await uow.participants.get(Participant.key(relationship.program_id, me))
        settings = await self._settings(uow, relationship.program_id)
        concern = Concern.report(
            relationship,
            me,
            cmd.category,
            cmd.text,
            self.clock(),
            respond_within=timedelta(hours=settings.concern_response_hours),
            reporting_line=reporter.reporting_line if reporter else None,
        )
        uow.concerns.add(concern)
        return concern

    # -- coordinators -------------------------------------------------------------------

    async def follow_up(self, cmd: commands.FollowUpConcern, uow: FeedbackUnitOfWork) -> Concern:
        concern = found(
            await uow.concerns.get(cmd.concern_id), f"concern {cmd.concern_id}", field="concern_id"
        )
        program = found(
            await uow.programs.get(concern.program_id),
            f"program {concern.program_id}",
            field="program_id",
        )
        concern.check_reader(reader(cmd.principal, self.institution, program, concern))
        concern.follow_up(
            cmd.status, self.actor(cmd.principal), cmd.note, self.clock(), cmd.outcome, cmd.pause
        )
        return concern

    async def set_settings(
        self, cmd: commands.SetFeedbackSettings, uow: FeedbackUnitOfWork
    ) -> Program:
        program = await self._led_here(cmd.principal, cmd.program_id, uow)
        program.settings = cmd.settings
        return program

    async def set_evaluation_plan(
        self, cmd: commands.SetEvaluationPlan, uow: FeedbackUnitOfWork
    ) -> Program:
        """Goals and levels apply to the report at once; follow-up months to relationships
        that end from now on (those already scheduled keep their dates)."""
        program = await self._led_here(cmd.principal, cmd.program_id, uow)
        program.evaluation = cmd.plan
        return program

    async def _led_here(
        self, principal: Principal, program_id: str, uow: FeedbackUnitOfWork
    ) -> Program:
        """A program this institution leads, for one of its coordinators to change."""
        require_lead_coordinator(principal, self.institution, program_id)
        return found(
            await uow.programs.get(program_id),
            f"program {program_id} led by {self.institution}",
            field="program_id",
        )

    @staticmethod
    def prefetches() -> Prefetches:
        """What a batch of these commands reads, read at once (MessageBus)."""

        async def people(cmds: list[commands.RecordEnrolment], uow: FeedbackUnitOfWork) -> None:
            await uow.participants.load(
                Participant.key(c.program_id, c.participant_ref) for c in cmds
            )

        async def pairings(cmds: list[commands.RecordPairing], uow: FeedbackUnitOfWork) -> None:
            await uow.pairings.load(c.pairing_id for c in cmds)

        return {commands.RecordEnrolment: people, commands.RecordPairing: pairings}

    def handlers(self) -> Handlers:
        return {
            commands.RecordProgram: self.record_program,
            commands.RecordEnrolment: self.record_enrolment,
            commands.RecordPairing: self.record_pairing,
            commands.OpenRelationship: self.open_relationship,
            commands.RecordSessionHeld: self.session_held,
            commands.FinishRelationship: self.finish_relationship,
            commands.ParticipantLeft: self.participant_left,
            commands.Sweep: self.sweep,
            commands.ShieldEarlierConcerns: self.shield_earlier_concerns,
            commands.GiveFeedback: self.give_feedback,
            commands.ReportConcern: self.report_concern,
            commands.FollowUpConcern: self.follow_up,
            commands.SetFeedbackSettings: self.set_settings,
            commands.SetEvaluationPlan: self.set_evaluation_plan,
        }
