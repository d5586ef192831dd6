"""What happened inside sessions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from telemachus.sessions.domain.model import Relationship


@dataclass(frozen=True)
class RelationshipStarted:
    relationship: Relationship
