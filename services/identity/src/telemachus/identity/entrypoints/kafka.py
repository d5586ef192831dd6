"""Events identity consumes: programs that partner institutions publish."""

from __future__ import annotations

from telemachus.identity.domain import commands
from telemachus.shared.contracts.identity import ProgramPublishedV1
from telemachus.shared.contracts.topics import event_topic
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.runtime.service import ServiceRuntime


def subscribe(runtime: ServiceRuntime, bus: MessageBus) -> None:
    settings = runtime.settings

    async def program_published(event: ProgramPublishedV1, inbox_id: str) -> None:
        if event.lead_institution == settings.institution:
            return  # our own program: already stored when it was published
        command = commands.RecordPartnerProgram(
            program_id=event.program_id,
            **event.model_dump(exclude={"program_id"}),
        )
        await bus.handle(command, inbox_id=inbox_id)

    runtime.consumer.subscribe(
        "partner-programs",
        [event_topic(i, "identity") for i in settings.institutions if i != settings.institution],
        {ProgramPublishedV1: program_published},
        "Programs led by other institutions of the federation, so that this institution's "
        "people can enrol in those it partners in.",
    )
