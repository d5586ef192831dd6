"""Identity's use cases: short functions, one per command, all listed in HANDLERS."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from telemachus.identity.domain import commands
from telemachus.identity.domain.model import Participant, Program, new_id
from telemachus.identity.service_layer.unit_of_work import IdentityUnitOfWork
from telemachus.shared.errors import Rejected, found
from telemachus.shared.runtime.bus import Handlers

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class IdentityHandlers:
    def __init__(self, institution: str, clock: Clock = utc_now) -> None:
        self.institution = institution
        self.clock = clock

    async def publish_program(
        self, cmd: commands.PublishProgram, uow: IdentityUnitOfWork
    ) -> Program:
        program = Program.publish(lead_institution=self.institution, **cmd.model_dump())
        uow.programs.add(program)
        return program

    async def record_partner_program(
        self, cmd: commands.RecordPartnerProgram, uow: IdentityUnitOfWork
    ) -> None:
        if self.institution not in cmd.partner_institutions:
            return  # not ours to enrol people in
        if await uow.programs.get(cmd.program_id) is not None:
            return
        data = cmd.model_dump(exclude={"program_id"})
        uow.programs.add(Program(id=cmd.program_id, **data))

    async def register_participant(
        self, cmd: commands.RegisterParticipant, uow: IdentityUnitOfWork
    ) -> Participant:
        participant = Participant(
            id=new_id(), home_institution=self.institution, **cmd.model_dump()
        )
        uow.participants.add(participant)
        return participant

    async def enrol_participant(
        self, cmd: commands.EnrolParticipant, uow: IdentityUnitOfWork
    ) -> Participant:
        participant = found(
            await uow.participants.get(cmd.participant_id),
            f"participant {cmd.participant_id}",
            field="participant_id",
        )
        program = await uow.programs.get(cmd.program_id)
        if program is None:
            raise Rejected(f"no program {cmd.program_id} is known here", field="program_id")
        participant.enrol(program, cmd.consented_fields, self.clock())
        return participant

    def handlers(self) -> Handlers:
        return {
            commands.PublishProgram: self.publish_program,
            commands.RecordPartnerProgram: self.record_partner_program,
            commands.RegisterParticipant: self.register_participant,
            commands.EnrolParticipant: self.enrol_participant,
        }
