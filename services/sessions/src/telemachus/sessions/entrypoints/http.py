"""HTTP API of sessions."""

from __future__ import annotations

from fastapi import APIRouter

from telemachus.sessions.domain.model import Relationship
from telemachus.sessions.service_layer.views import SessionsViews
from telemachus.shared.errors import found


def sessions_router(views: SessionsViews) -> APIRouter:
    router = APIRouter(tags=["sessions"])

    @router.get(
        "/relationships",
        response_model=list[Relationship],
        summary="Relationships of the programs this institution leads",
    )
    async def list_relationships(program_id: str | None = None) -> list[Relationship]:
        return await views.relationships(program_id)

    @router.get("/relationships/{relationship_id}", response_model=Relationship)
    async def get_relationship(relationship_id: str) -> Relationship:
        return found(
            await views.relationship(relationship_id),
            f"relationship {relationship_id}",
            field="relationship_id",
        )

    return router
