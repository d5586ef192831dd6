"""Sessions' use cases."""

from __future__ import annotations

from collections.abc import Callable

from telemachus.sessions.domain import commands
from telemachus.sessions.domain.model import Relationship
from telemachus.sessions.service_layer.unit_of_work import SessionsUnitOfWork


async def open_relationship(
    cmd: commands.OpenRelationship, uow: SessionsUnitOfWork
) -> Relationship | None:
    if await uow.relationships.get(Relationship.id_for(cmd.pairing_id)) is not None:
        return None
    relationship = Relationship.open(**cmd.model_dump())
    uow.relationships.add(relationship)
    return relationship


HANDLERS: dict[type, Callable[..., object]] = {commands.OpenRelationship: open_relationship}
