"""What a program decides about pairing: who may pair, and what makes a pair good.

Scores are integers (points), so optimal totals compare exactly and an explanation adds
up to the score it explains.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class Weights:
    topic: int = 1  # x priority (1-5) x proficiency (1-5)
    availability: int = 1  # per hour of weekly overlap, counted up to `availability_cap`
    availability_cap: int = 8
    different_profession: int = 3
    different_institution: int = 3
    shared_language: int = 2

    def best_possible(self, topic_fit: int) -> int:
        return (
            self.topic * topic_fit
            + self.availability * self.availability_cap
            + self.different_profession
            + self.different_institution
            + self.shared_language
        )


class Objective(StrEnum):
    """What an assigned round maximises."""

    MOST_MATCHED = "most-matched"  # as many mentees as possible, then the highest total
    SCORE = "score"  # the highest total score, even if fewer mentees are matched


@dataclass(frozen=True)
class Rules:
    weights: Weights = Weights()
    min_overlap_hours: int = 1
    # Reverse mentoring runs from lower to higher career stage; a program may also pair
    # equal stages when the two are of different professions.
    allow_equal_stage_across_professions: bool = False
    exclude_same_department: bool = False
    candidates_per_mentee: int = 50
    candidates_per_mentor: int = 10
    objective: Objective = Objective.MOST_MATCHED
