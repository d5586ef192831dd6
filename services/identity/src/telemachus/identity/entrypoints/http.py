"""HTTP API of identity: authenticate, check who may ask, translate into commands."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, Field

from telemachus.identity.domain import commands
from telemachus.identity.domain.participants import (
    Availability,
    ContactRelease,
    Enrolment,
    Participant,
    ShareableField,
    Tombstone,
    TopicOffered,
    TopicSought,
)
from telemachus.identity.domain.programs import Program
from telemachus.identity.domain.topics import Topic
from telemachus.identity.entrypoints.callers import callers
from telemachus.identity.service_layer import access, csv_import
from telemachus.identity.service_layer.handlers import home_of
from telemachus.identity.service_layer.import_jobs import ImportJob, ImportJobs, SyncOptions
from telemachus.identity.service_layer.import_report import ImportReport
from telemachus.identity.service_layer.views import IdentityViews
from telemachus.shared.contracts.vocabulary import CareerStage, InstitutionKind, Profession
from telemachus.shared.errors import Forbidden, NotFound, Rejected, found
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.paging import PAGED, Page
from telemachus.shared.security.access import acting_party
from telemachus.shared.security.registry import TrustRegistry
from telemachus.shared.security.tokens import Principal, Role

IMPORT_MAX_BYTES = 16 * 1024 * 1024
CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "See the column list in this operation's description.",
    }
}


class ParticipantView(BaseModel):
    """A participant's record, as their home institution holds it."""

    id: str
    ref: str
    subject: str
    home_institution: str
    display_name: str
    work_email: str
    profession: Profession
    career_stage: CareerStage
    department: str | None
    line_manager_id: str | None
    topics_offered: list[TopicOffered]
    topics_sought: list[TopicSought]
    availability: Availability | None
    languages: list[str]
    max_relationships: int
    registered_at: datetime
    enrolments: list[Enrolment]


class InstitutionView(BaseModel):
    id: str
    name: str
    kind: InstitutionKind
    token_issuer: str


class EnrolmentRequest(commands.Command):
    program_id: str
    consented_fields: list[ShareableField]


class RecognitionConsent(commands.Command):
    consent: bool


class ContactCard(BaseModel):
    """A counterpart's contact details, read live from their home institution."""

    pairing_id: str
    program_id: str
    participant_ref: str
    display_name: str
    work_email: str


class Counterpart(BaseModel):
    """Someone one of our people was paired with, and where to read their card."""

    pairing_id: str
    program_id: str
    counterpart_ref: str
    home_institution: str = Field(
        description="their home: the only place their card is read from, with a token "
        "from your home for that institution (GET /contact-cards/{pairing_id} there)"
    )
    card: ContactCard | None = Field(
        description="filled in when the counterpart is also ours and still enrolled"
    )


class ConsentRecord(BaseModel):
    """For auditors: what was shared with whom and when; never who the person is."""

    participant_ref: str
    erased_at: datetime | None
    enrolments: list[Enrolment]


def participant_view(participant: Participant) -> ParticipantView:
    return ParticipantView(ref=participant.ref, **participant.model_dump(exclude={"version"}))


def contact_card(release: ContactRelease, person: Participant) -> ContactCard:
    return ContactCard(
        pairing_id=release.pairing_id,
        program_id=release.program_id,
        participant_ref=release.participant_ref,
        display_name=person.display_name,
        work_email=person.work_email,
    )


def identity_router(
    bus: MessageBus,
    views: IdentityViews,
    institution: str,
    trust: TrustRegistry,
    authenticate: Callable[..., Awaitable[Principal]],
    jobs: ImportJobs,
) -> APIRouter:
    who_calls = callers(institution, authenticate, views)
    principal, coordinator = who_calls.principal, who_calls.coordinator

    async def participant_for(participant_id: str) -> Participant:
        return found(
            await views.participant(participant_id),
            f"participant {participant_id}",
            field="participant_id",
        )

    router = APIRouter(tags=["identity"])

    @router.get("/institutions", response_model=list[InstitutionView], responses=PAGED)
    async def institutions(
        page: Page = Depends(), who: Principal = Depends(principal)
    ) -> list[InstitutionView]:
        """The federation as the trust registry lists it (configuration, not an API)."""
        return page.of([InstitutionView.model_validate(i.model_dump()) for i in trust])

    @router.get("/topics", response_model=list[Topic], responses=PAGED)
    async def topics(page: Page = Depends(), who: Principal = Depends(principal)) -> list[Topic]:
        return page.of(await views.topics())

    @router.post("/topics", status_code=status.HTTP_201_CREATED, response_model=Topic)
    async def add_topic(body: Topic, who: Principal = Depends(coordinator)) -> Topic:
        await bus.handle(commands.AddTopic(topic=body))
        return body

    @router.post(
        "/programs",
        status_code=status.HTTP_201_CREATED,
        response_model=Program,
        summary="Publish a program this institution leads",
    )
    async def publish_program(
        body: commands.PublishProgram, who: Principal = Depends(coordinator)
    ) -> Program:
        program: Program = await bus.handle(body)
        return program

    @router.patch("/programs/{program_id}", response_model=Program)
    async def update_program(
        program_id: str, body: commands.ProgramChanges, who: Principal = Depends(coordinator)
    ) -> Program:
        """Change a program's terms; partners learn of it from ProgramUpdated."""
        program: Program = await bus.handle(
            commands.UpdateProgram(program_id=program_id, changes=body)
        )
        return program

    @router.get(
        "/programs",
        response_model=list[Program],
        responses=PAGED,
        summary="Programs led here and programs this institution is a partner of",
    )
    async def list_programs(
        page: Page = Depends(), who: Principal = Depends(principal)
    ) -> list[Program]:
        return page.of(await views.programs())

    @router.get("/programs/{program_id}", response_model=Program)
    async def get_program(program_id: str, who: Principal = Depends(principal)) -> Program:
        return found(await views.program(program_id), f"program {program_id}", field="program_id")

    @router.post(
        "/participants",
        status_code=status.HTTP_201_CREATED,
        response_model=ParticipantView,
        summary="Register a person of this institution",
    )
    async def register_participant(
        body: commands.RegisterParticipant, who: Principal = Depends(coordinator)
    ) -> ParticipantView:
        return participant_view(await bus.handle(body))

    @router.post(
        "/participants/import",
        response_model=ImportReport,
        summary="Register people from a CSV file (text/csv), with a report per row",
        description=csv_import.__doc__,
        openapi_extra=CSV_BODY,
    )
    async def import_participants(
        request: Request,
        accept_valid: bool = Query(
            False, description="import the valid rows even if others are refused"
        ),
        who: Principal = Depends(coordinator),
    ) -> ImportReport:
        text = await _csv_text(request)
        parsed = await asyncio.to_thread(csv_import.parse_participants, text)
        report: ImportReport = await bus.handle(
            commands.ImportParticipants(
                rows=parsed.rows,
                line_numbers=parsed.line_numbers,
                refused=[commands.RowProblem(**vars(r)) for r in parsed.refused],
                accept_valid=accept_valid,
            )
        )
        return report

    @router.post(
        "/participants/import-jobs",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=ImportJob,
        summary="Re-sync the roster from a CSV export, as a job (202: follow its Location)",
        description="Rows for known people (by work_email, else employee_number) update "
        "them, in the file's columns only; unknown people are registered; with "
        "flag_missing, people not in the file are listed (nothing is done to them). A "
        "dry run only reports: counts and the refused rows. A refused row stops the "
        "whole sync unless accept_valid. Columns as for /participants/import.",
        openapi_extra=CSV_BODY,
    )
    async def sync_roster(
        request: Request,
        response: Response,
        dry_run: bool = Query(False, description="plan and report, change nothing"),
        accept_valid: bool = Query(
            False, description="apply the valid rows even if others are refused"
        ),
        flag_missing: bool = Query(
            False, description="the file is the full roster: list who is not in it"
        ),
        who: Principal = Depends(coordinator),
    ) -> ImportJob:
        text = await _csv_text(request)
        job = await jobs.submit(
            text,
            SyncOptions(dry_run=dry_run, accept_valid=accept_valid, flag_missing=flag_missing),
            who.subject,
        )
        response.headers["Location"] = f"/participants/import-jobs/{job.id}"
        return job

    @router.get("/participants/import-jobs/{job_id}", response_model=ImportJob)
    async def sync_job(job_id: str, who: Principal = Depends(coordinator)) -> ImportJob:
        return found(await jobs.get(job_id), f"import job {job_id}", field="job_id")

    @router.get("/participants", response_model=list[ParticipantView], responses=PAGED)
    async def list_participants(
        program_id: str | None = None,
        page: Page = Depends(),
        who: Principal = Depends(principal),
    ) -> list[ParticipantView]:
        access.require_role(who, *access.READERS)
        return [participant_view(p) for p in page.of(await views.participants(program_id))]

    @router.get("/participants/me", response_model=ParticipantView)
    async def me(person: Participant = Depends(who_calls.signed_in)) -> ParticipantView:
        return participant_view(person)

    @router.get("/participants/{participant_id}", response_model=ParticipantView)
    async def get_participant(
        participant_id: str, who: Principal = Depends(principal)
    ) -> ParticipantView:
        person = await participant_for(participant_id)
        access.may_read(who, person)
        return participant_view(person)

    @router.patch("/participants/{participant_id}", response_model=ParticipantView)
    async def update_profile(
        participant_id: str, body: commands.ProfileChanges, who: Principal = Depends(principal)
    ) -> ParticipantView:
        """Change profile fields; programs the person shares them with get ProfileUpdated."""
        access.may_change(who, await participant_for(participant_id))
        return participant_view(
            await bus.handle(commands.UpdateProfile(participant_id=participant_id, changes=body))
        )

    @router.delete("/participants/{participant_id}", response_model=ConsentRecord)
    async def erase(participant_id: str, who: Principal = Depends(principal)) -> ConsentRecord:
        """Leave entirely: personal data is erased; what remains is the consent record."""
        access.may_change(who, await participant_for(participant_id))
        role = Role.COORDINATOR if who.has(Role.COORDINATOR) else Role.PARTICIPANT
        tombstone: Tombstone = await bus.handle(
            commands.EraseParticipant(participant_id=participant_id, requested_by=role.value)
        )
        return ConsentRecord(
            participant_ref=tombstone.ref,
            erased_at=tombstone.erased_at,
            enrolments=tombstone.enrolments,
        )

    @router.post(
        "/participants/{participant_id}/enrolments",
        status_code=status.HTTP_201_CREATED,
        response_model=Enrolment,
        summary="Enrol in a program, sharing only the consented profile fields",
    )
    async def enrol(
        participant_id: str, body: EnrolmentRequest, who: Principal = Depends(principal)
    ) -> Enrolment:
        access.require_self(who, await participant_for(participant_id), "give consent")
        person: Participant = await bus.handle(
            commands.EnrolParticipant(participant_id=participant_id, **body.model_dump())
        )
        return found(person.active_enrolment(body.program_id), "enrolment", field="program_id")

    @router.put(
        "/participants/{participant_id}/enrolments/{program_id}/recognition",
        response_model=Enrolment,
        summary="Agree, or no longer agree, that your home issues you a certificate of your "
        "contribution to a program (yourself only)",
    )
    async def recognition_consent(
        participant_id: str,
        program_id: str,
        body: RecognitionConsent,
        who: Principal = Depends(principal),
    ) -> Enrolment:
        access.require_self(who, await participant_for(participant_id), "give consent")
        person: Participant = await bus.handle(
            commands.ConsentToRecognition(
                participant_id=participant_id, program_id=program_id, consent=body.consent
            )
        )
        return next(e for e in reversed(person.enrolments) if e.program_id == program_id)

    @router.delete(
        "/participants/{participant_id}/enrolments/{program_id}", response_model=Enrolment
    )
    async def withdraw(
        participant_id: str, program_id: str, who: Principal = Depends(principal)
    ) -> Enrolment:
        """Withdraw from one program; the profile stays for other programs."""
        access.may_change(who, await participant_for(participant_id))
        person: Participant = await bus.handle(
            commands.WithdrawParticipant(participant_id=participant_id, program_id=program_id)
        )
        return next(e for e in reversed(person.enrolments) if e.program_id == program_id)

    @router.get(
        "/participants/{participant_id}/contacts",
        response_model=list[Counterpart],
        responses=PAGED,
    )
    async def contacts(
        participant_id: str, page: Page = Depends(), who: Principal = Depends(principal)
    ) -> list[Counterpart]:
        """Your counterparts in confirmed pairings: the card of a colleague here, and for
        another institution's people, where to read theirs."""
        person = await participant_for(participant_id)
        access.require_self(who, person, "read their contacts")
        counterparts = []
        for release in await views.released_by(person.ref):
            home = home_of(release.counterpart_ref)
            card = None
            if home == institution:
                found_card = await views.card_for(release.pairing_id, person.ref)
                card = contact_card(*found_card) if found_card else None
            counterparts.append(
                Counterpart(
                    pairing_id=release.pairing_id,
                    program_id=release.program_id,
                    counterpart_ref=release.counterpart_ref,
                    home_institution=home,
                    card=card,
                )
            )
        return page.of(counterparts, key=lambda c: c.pairing_id)

    @router.get(
        "/contact-cards/{pairing_id}",
        response_model=ContactCard,
        responses={404: {"description": "no card of this pairing is released to you"}},
    )
    async def card(pairing_id: str, who: Principal = Depends(authenticate)) -> ContactCard:
        """The card of our participant in a confirmed pairing, for its counterpart only:
        a participant of any institution in the federation, with a token from their home
        (audience this institution, their `ref`). Read live from the person's record, so
        after a withdrawal or erasure it is gone for everyone."""
        reader = acting_party(who)
        if reader is None and who.institution == institution and who.has(Role.PARTICIPANT):
            me = await views.participant_signed_in_as(who.subject)
            reader = me.ref if me else None
        if reader is None:
            raise Forbidden("a contact card is read only by the counterpart of its pairing")
        released = await views.card_for(pairing_id, reader)
        if released is None:
            raise NotFound("no contact card of this pairing is released to you", field="pairing_id")
        return contact_card(*released)

    @router.get("/audit/participants/{participant_id}", response_model=ConsentRecord)
    async def consent_record(
        participant_id: str, who: Principal = Depends(principal)
    ) -> ConsentRecord:
        access.require_role(who, Role.AUDITOR, Role.COORDINATOR)
        person = await views.participant(participant_id)
        if person is not None:
            return ConsentRecord(
                participant_ref=person.ref, erased_at=None, enrolments=person.enrolments
            )
        tombstone = found(
            await views.tombstone(participant_id),
            f"participant {participant_id}",
            field="participant_id",
        )
        return ConsentRecord(
            participant_ref=tombstone.ref,
            erased_at=tombstone.erased_at,
            enrolments=tombstone.enrolments,
        )

    return router


async def _csv_text(request: Request) -> str:
    """The body, bounded even without a Content-Length, as text."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > IMPORT_MAX_BYTES:
            raise Rejected(f"file over {IMPORT_MAX_BYTES} bytes; split it", field="file")
        chunks.append(chunk)
    try:
        return b"".join(chunks).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise Rejected(f"not UTF-8 text (byte {error.start})", field="file") from None
