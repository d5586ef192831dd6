"""The feedback unit of work."""

from __future__ import annotations

from telemachus.feedback.domain.concerns import Concern
from telemachus.feedback.domain.model import (
    FeedbackWindow,
    Pairing,
    Participant,
    Program,
    Relationship,
    Response,
)
from telemachus.shared.runtime.repository import MongoRepository
from telemachus.shared.runtime.unit_of_work import MongoUnitOfWork

PROGRAMS = "programs"
PARTICIPANTS = "participants"
PAIRINGS = "pairings"
RELATIONSHIPS = "relationships"
WINDOWS = "feedback_windows"
RESPONSES = "responses"
CONCERNS = "concerns"
# What the evaluation report last showed of each confidential metric (reporting/releases.py).
RELEASES = "report_releases"


class FeedbackUnitOfWork(MongoUnitOfWork):
    async def __aenter__(self) -> FeedbackUnitOfWork:
        await super().__aenter__()
        self.programs = MongoRepository(self, PROGRAMS, Program)
        self.participants = MongoRepository(self, PARTICIPANTS, Participant)
        self.pairings = MongoRepository(self, PAIRINGS, Pairing)
        self.relationships = MongoRepository(self, RELATIONSHIPS, Relationship)
        self.windows = MongoRepository(self, WINDOWS, FeedbackWindow)
        self.responses = MongoRepository(self, RESPONSES, Response)
        self.concerns = MongoRepository(self, CONCERNS, Concern)
        return self
