"""What the other party said of a person, for the certificate of their contribution:
never one answer.

The ratings a person received in a program (`mentor-attributes` from their mentees when
they mentor, `mentee-attributes` from their mentors when they are mentored), across all
their relationships in it, as confidential metrics under the report's rules: hidden below
the program's threshold, and released anew only once k people's answers have changed
(releases.py), so two certificates downloaded around one more rating tell nothing of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import partial

from pydantic import BaseModel, Field

from telemachus.feedback.domain.instruments import BY_KEY, INSTRUMENTS, Instrument, Purpose
from telemachus.feedback.domain.model import Program, Relationship, Response
from telemachus.feedback.reporting.cells import Kind, Metric, Observation, metric


class RecognitionSummary(BaseModel):
    program_id: str
    title: str
    threshold: int = Field(description="fewer answers than this are not shown")
    ratings: list[Metric] = Field(description="mean agreement (1-5), overall and per item")


def metric_id(ref: str, instrument: Instrument) -> str:
    """Stable per person, naming no one: the release store keeps no reference."""
    return f"recognition.{hashlib.sha256(ref.encode()).hexdigest()[:16]}.{instrument.key}"


def ratings_of(
    ref: str, program: Program, relationships: Sequence[Relationship], responses: Sequence[Response]
) -> list[Metric]:
    mine = {r.id for r in relationships if r.role_of(ref) is not None}
    about_me = [
        r
        for r in responses
        if r.relationship_id in mine
        and r.respondent_ref != ref
        and BY_KEY[r.instrument].purpose is Purpose.RATING
    ]
    metrics = []
    for instrument in INSTRUMENTS:
        answers = [r for r in about_me if r.instrument == instrument.key]
        if instrument.purpose is not Purpose.RATING or not answers:
            continue
        metrics.append(
            metric(
                metric_id(ref, instrument),
                instrument.title,
                Kind.MEAN,
                "respondents",
                [Observation(r.respondent_ref, _mean(r)) for r in answers],
                program.reporting_threshold,
                items=partial(_items, instrument, answers),
                confidential=True,
            )
        )
    return metrics


def _mean(response: Response) -> float:
    return sum(response.answers.values()) / len(response.answers)


def _items(instrument: Instrument, answers: list[Response]) -> list[tuple[str, list[Observation]]]:
    return [
        (item.statement, [Observation(r.respondent_ref, r.answers[item.id]) for r in answers])
        for item in instrument.items
    ]
