"""HR provisioning (SCIM): people created, replaced and deactivated as the HR system or IdP
says, and cohorts kept as groups. Idempotent: a replace that changes nothing writes
nothing, publishes nothing."""

from __future__ import annotations

from typing import Any

from telemachus.identity.domain import commands
from telemachus.identity.domain.cohorts import Cohort
from telemachus.identity.domain.participants import Participant
from telemachus.identity.domain.programs import new_id
from telemachus.identity.service_layer.import_report import UNIQUE_FIELDS
from telemachus.identity.service_layer.unit_of_work import IdentityUnitOfWork
from telemachus.shared.clock import Clock, utc_now
from telemachus.shared.errors import Conflict, NotFound, Rejected, found
from telemachus.shared.runtime.bus import Handlers

# What a provisioned person's record takes from HR; the rest (topics, availability,
# languages...) is the person's own to fill in.
FROM_HR = (
    "display_name",
    "work_email",
    "subject",
    "profession",
    "career_stage",
    "department",
    "employee_number",
    "external_id",
    "emails",
)


class ProvisioningHandlers:
    def __init__(self, institution: str, clock: Clock = utc_now) -> None:
        self.institution = institution
        self.clock = clock

    async def provision(
        self, cmd: commands.ProvisionPerson, uow: IdentityUnitOfWork
    ) -> Participant:
        person = cmd.person
        participant = Participant(
            id=new_id(),
            home_institution=self.institution,
            registered_at=self.clock(),
            **person.model_dump(),
        )
        for field in UNIQUE_FIELDS:
            if await uow.taken(field, [getattr(participant, field)]):
                raise Conflict(f"another participant has this {field}", field=field)
        uow.participants.add(participant)
        return participant

    async def replace(self, cmd: commands.ReplacePerson, uow: IdentityUnitOfWork) -> Participant:
        participant = found(
            await uow.participants.get(cmd.participant_id),
            f"participant {cmd.participant_id}",
            field="id",
        )
        wanted: dict[str, Any] = cmd.person.model_dump(include=set(FROM_HR))
        for field in UNIQUE_FIELDS:
            if wanted[field] != getattr(participant, field) and await uow.taken(
                field, [wanted[field]]
            ):
                raise Conflict(f"another participant has this {field}", field=field)
        changes = {k: v for k, v in wanted.items() if getattr(participant, k) != v}
        if changes:
            participant.update_profile(changes)
        if cmd.person.active is False and participant.active is not False:
            participant.deactivate(self.clock())
        else:
            # Back with the institution (or not said): they enrol again themselves.
            participant.active = cmd.person.active
        return participant

    # Cohorts ----------------------------------------------------------------------------

    async def save_cohort(self, cmd: commands.SaveCohort, uow: IdentityUnitOfWork) -> Cohort:
        members = await uow.participants.find({"_id": {"$in": cmd.member_ids}})
        unknown = sorted(set(cmd.member_ids) - {m.id for m in members})
        if unknown:
            raise Rejected(f"no participant {', '.join(unknown[:5])} here", field="members")
        existing = await uow.cohorts.get(cmd.cohort_id) if cmd.cohort_id else None
        if cmd.cohort_id and existing is None:
            raise NotFound(f"cohort {cmd.cohort_id}", field="id")
        taken = await uow.cohorts.find({"display_name": cmd.display_name})
        if any(c.id != cmd.cohort_id for c in taken):
            raise Conflict("another cohort has this displayName", field="display_name")
        if existing is None:
            cohort = Cohort(
                id=f"cohort_{new_id()}",
                display_name=cmd.display_name,
                member_ids=sorted(set(cmd.member_ids)),
                member_display=cmd.member_display,
                external_id=cmd.external_id,
            )
            uow.cohorts.add(cohort)
            return cohort
        existing.display_name = cmd.display_name
        existing.member_ids = sorted(set(cmd.member_ids))
        existing.member_display = cmd.member_display
        existing.external_id = cmd.external_id
        return existing

    async def delete_cohort(self, cmd: commands.DeleteCohort, uow: IdentityUnitOfWork) -> None:
        cohort = found(await uow.cohorts.get(cmd.cohort_id), f"cohort {cmd.cohort_id}", field="id")
        uow.cohorts.remove(cohort)

    def handlers(self) -> Handlers:
        return {
            commands.ProvisionPerson: self.provision,
            commands.ReplacePerson: self.replace,
            commands.SaveCohort: self.save_cohort,
            commands.DeleteCohort: self.delete_cohort,
        }
