"""Feedback windows: when the two parties of a relationship may answer."""

from __future__ import annotations

from datetime import datetime, timedelta

from telemachus.feedback.domain import events
from telemachus.shared.contracts.feedback import FeedbackWindowKind
from telemachus.shared.domain import Aggregate

BASELINE_WINDOW = timedelta(days=14)


class FeedbackWindow(Aggregate):
    relationship_id: str
    program_id: str
    kind: FeedbackWindowKind
    respondents: list[str]  # the mentor's and the mentee's references
    opens_at: datetime
    closes_at: datetime

    @staticmethod
    def id_for(relationship_id: str, kind: FeedbackWindowKind) -> str:
        return f"window_{relationship_id}_{kind.value}"

    @classmethod
    def open_baseline(
        cls, *, relationship_id: str, program_id: str, respondents: list[str], now: datetime
    ) -> FeedbackWindow:
        """The pre-measure of outcomes, taken as a relationship starts."""
        kind = FeedbackWindowKind.BASELINE
        window = cls(
            id=cls.id_for(relationship_id, kind),
            relationship_id=relationship_id,
            program_id=program_id,
            kind=kind,
            respondents=respondents,
            opens_at=now,
            closes_at=now + BASELINE_WINDOW,
        )
        window.record(events.FeedbackWindowOpened(window))
        return window
