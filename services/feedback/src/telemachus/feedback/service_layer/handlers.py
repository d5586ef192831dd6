"""Feedback's use cases."""

from __future__ import annotations

from telemachus.feedback.domain import commands
from telemachus.feedback.domain.model import FeedbackWindow
from telemachus.feedback.service_layer.unit_of_work import FeedbackUnitOfWork
from telemachus.shared.clock import Clock, utc_now
from telemachus.shared.contracts.feedback import FeedbackWindowKind
from telemachus.shared.runtime.bus import Handlers


class FeedbackHandlers:
    def __init__(self, clock: Clock = utc_now) -> None:
        self.clock = clock

    async def open_baseline_window(
        self, cmd: commands.OpenBaselineWindow, uow: FeedbackUnitOfWork
    ) -> None:
        window_id = FeedbackWindow.id_for(cmd.relationship_id, FeedbackWindowKind.BASELINE)
        if await uow.windows.get(window_id) is not None:
            return
        uow.windows.add(FeedbackWindow.open_baseline(now=self.clock(), **cmd.model_dump()))

    def handlers(self) -> Handlers:
        return {commands.OpenBaselineWindow: self.open_baseline_window}
