"""HTTP API of feedback."""

from __future__ import annotations

from fastapi import APIRouter

from telemachus.feedback.domain.model import FeedbackWindow
from telemachus.feedback.service_layer.views import FeedbackViews


def feedback_router(views: FeedbackViews) -> APIRouter:
    router = APIRouter(tags=["feedback"])

    @router.get(
        "/feedback-windows",
        response_model=list[FeedbackWindow],
        summary="Feedback windows of the relationships this institution owns",
    )
    async def list_windows(relationship_id: str | None = None) -> list[FeedbackWindow]:
        return await views.windows(relationship_id)

    return router
