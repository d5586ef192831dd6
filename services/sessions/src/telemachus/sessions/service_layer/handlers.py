"""Sessions' use cases."""

from __future__ import annotations

from telemachus.sessions.domain import commands
from telemachus.sessions.domain.model import Relationship
from telemachus.sessions.service_layer.unit_of_work import SessionsUnitOfWork
from telemachus.shared.runtime.bus import Handlers


async def open_relationship(
    cmd: commands.OpenRelationship, uow: SessionsUnitOfWork
) -> Relationship | None:
    if await uow.relationships.get(Relationship.id_for(cmd.pairing_id)) is not None:
        return None
    relationship = Relationship.open(**cmd.model_dump())
    uow.relationships.add(relationship)
    return relationship


HANDLERS: Handlers = {commands.OpenRelationship: open_relationship}
