"""The feedback unit of work."""

from __future__ import annotations

from telemachus.feedback.domain.model import FeedbackWindow
from telemachus.shared.runtime.repository import MongoRepository
from telemachus.shared.runtime.unit_of_work import MongoUnitOfWork

WINDOWS = "feedback_windows"


class FeedbackUnitOfWork(MongoUnitOfWork):
    async def __aenter__(self) -> FeedbackUnitOfWork:
        await super().__aenter__()
        self.windows = MongoRepository(self, WINDOWS, FeedbackWindow)
        return self
