"""What happened inside feedback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from telemachus.feedback.domain.model import FeedbackWindow


@dataclass(frozen=True)
class FeedbackWindowOpened:
    window: FeedbackWindow
