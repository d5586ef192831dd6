"""Cohort enrolment: a coordinator invites, each person accepts (with their own consent) or
declines. Nothing leaves this institution until a person accepts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, Field, model_validator

from telemachus.identity.domain import commands
from telemachus.identity.domain.invitations import DEFAULT_DAYS, InvitationSummary
from telemachus.identity.domain.participants import (
    REQUIRED_FOR_PAIRING,
    Enrolment,
    Participant,
    ShareableField,
)
from telemachus.identity.entrypoints.callers import callers
from telemachus.identity.service_layer.views import IdentityViews
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.paging import PAGED, Page
from telemachus.shared.security.tokens import Principal


class InviteRequest(BaseModel):
    participant_ids: list[str] = Field(default_factory=list, max_length=5000)
    work_emails: list[str] = Field(default_factory=list, max_length=5000)
    cohort_id: str | None = Field(default=None, description="a cohort (SCIM group) to invite")
    expires_in_days: int = Field(default=DEFAULT_DAYS, ge=1, le=90)

    @model_validator(mode="after")
    def _someone(self) -> InviteRequest:
        if not self.participant_ids and not self.work_emails and self.cohort_id is None:
            raise ValueError(
                "name at least one person in participant_ids or work_emails, or a cohort_id"
            )
        return self


class PendingInvitation(BaseModel):
    id: str
    program_id: str
    participant_id: str
    invited_at: datetime
    expires_at: datetime


class InvitationView(PendingInvitation):
    """What the person sees before deciding: the program, who would see what."""

    program_title: str
    lead_institution: str
    partner_institutions: list[str]
    invited_by: str
    shareable_fields: list[ShareableField]
    needed_for_pairing: list[ShareableField]
    shared_with: str


class AcceptRequest(BaseModel):
    consented_fields: list[ShareableField] = Field(min_length=1)


def invitations_router(
    bus: MessageBus,
    views: IdentityViews,
    institution: str,
    authenticate: Callable[..., Awaitable[Principal]],
) -> APIRouter:
    router = APIRouter(tags=["invitations"])
    who_calls = callers(institution, authenticate, views)
    coordinator, signed_in_person = who_calls.coordinator, who_calls.signed_in

    @router.post(
        "/programs/{program_id}/invitations",
        response_model=InvitationSummary,
        summary="Invite a cohort; each person is enrolled only when they accept",
    )
    async def invite(
        program_id: str, body: InviteRequest, who: Principal = Depends(coordinator)
    ) -> InvitationSummary:
        summary: InvitationSummary = await bus.handle(
            commands.InviteToProgram(
                program_id=program_id, invited_by=who.subject, **body.model_dump()
            )
        )
        return summary

    @router.get(
        "/programs/{program_id}/invitations",
        response_model=list[PendingInvitation],
        responses=PAGED,
        summary="Invitations not yet answered (declined and expired ones are gone)",
    )
    async def pending(
        program_id: str, page: Page = Depends(), who: Principal = Depends(coordinator)
    ) -> list[PendingInvitation]:
        found_ = await views.invitations({"program_id": program_id})
        return [PendingInvitation.model_validate(i.model_dump()) for i in page.of(found_)]

    @router.get(
        "/participants/me/invitations",
        response_model=list[InvitationView],
        responses=PAGED,
    )
    async def mine(
        page: Page = Depends(), person: Participant = Depends(signed_in_person)
    ) -> list[InvitationView]:
        shown = []
        for invitation in page.of(await views.invitations({"participant_id": person.id})):
            program = await views.program(invitation.program_id)
            if program is None:
                continue
            shown.append(
                InvitationView(
                    **invitation.model_dump(),
                    program_title=program.title,
                    lead_institution=program.lead_institution,
                    partner_institutions=program.partner_institutions,
                    shareable_fields=list(ShareableField),
                    needed_for_pairing=sorted(REQUIRED_FOR_PAIRING),
                    shared_with=(
                        f"The fields you choose go, sealed, to {program.lead_institution}'s "
                        "pairing, sessions and feedback services, which run the program. The "
                        "other institutions see only that a pseudonym enrolled and which "
                        "fields it shared. Your name and e-mail stay here."
                    ),
                )
            )
        return shown

    @router.post(
        "/invitations/{invitation_id}/accept",
        status_code=status.HTTP_201_CREATED,
        response_model=Enrolment,
        summary="Accept, consenting to share exactly these fields: enrols you",
    )
    async def accept(
        invitation_id: str, body: AcceptRequest, person: Participant = Depends(signed_in_person)
    ) -> Enrolment:
        enrolment: Enrolment = await bus.handle(
            commands.AcceptInvitation(
                invitation_id=invitation_id,
                participant_id=person.id,
                consented_fields=body.consented_fields,
            )
        )
        return enrolment

    @router.post(
        "/invitations/{invitation_id}/decline",
        status_code=status.HTTP_204_NO_CONTENT,
        summary="Decline: the invitation is deleted, nothing of it remains",
    )
    async def decline(
        invitation_id: str, person: Participant = Depends(signed_in_person)
    ) -> Response:
        await bus.handle(
            commands.DeclineInvitation(invitation_id=invitation_id, participant_id=person.id)
        )
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router
