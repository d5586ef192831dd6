"""The program evaluation: enrolment, pairing, completion, sessions, instrument scores,
pre/post change in outcomes, what lasted months after the end, the program's own goals
and concerns, each split where it makes sense and every cell suppressed below the
program's threshold (see cells.py).

Splits of relationship metrics: how the pair was made (`mode`: assigned, ranked, mixed —
the open question of assigned versus self-identified pairs), the institutions
(`institutions`: the mentor's → the mentee's) and the professions (`professions`). Metrics
about enrolled people split by their own `institution` and `profession`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from pydantic import BaseModel

from telemachus.feedback.domain.concerns import Concern
from telemachus.feedback.domain.evaluation_plan import Goal, measured_item
from telemachus.feedback.domain.instruments import (
    INSTRUMENTS,
    Instrument,
    Level,
    Purpose,
    WindowKind,
)
from telemachus.feedback.domain.model import (
    Pairing,
    PairingOutcome,
    Participant,
    Program,
    Relationship,
    RelationshipStatus,
    Response,
)
from telemachus.feedback.reporting.cells import Kind, Metric, Observation, metric

RELATIONSHIP_SPLITS = ("mode", "institutions", "professions")
PERSON_SPLITS = ("institution", "profession")


@dataclass(frozen=True)
class ProgramFacts:
    program: Program
    participants: Sequence[Participant]
    pairings: Sequence[Pairing]
    relationships: Sequence[Relationship]
    responses: Sequence[Response]
    concerns: Sequence[Concern]


class Section(BaseModel):
    id: str
    title: str
    metrics: list[Metric]


class EvaluationReport(BaseModel):
    program_id: str
    title: str
    generated_at: datetime
    threshold: int
    sections: list[Section]
    notes: list[str]


def _groups(r: Relationship) -> dict[str, str]:
    return {
        "mode": r.mode.value,
        "institutions": r.institution_pairing,
        "professions": r.profession_pairing,
    }


def scale_score(response: Response) -> float:
    return sum(response.answers.values()) / len(response.answers)


class Evaluation:
    def __init__(self, facts: ProgramFacts) -> None:
        self.f = facts
        self.k = facts.program.reporting_threshold
        self.relationships = {r.id: r for r in facts.relationships}

    def report(self, now: datetime) -> EvaluationReport:
        return EvaluationReport(
            program_id=self.f.program.id,
            title=self.f.program.title,
            generated_at=now,
            threshold=self.k,
            sections=[
                Section(id="enrolment", title="Enrolment and pairing", metrics=self.enrolment()),
                Section(id="relationships", title="Relationships", metrics=self.progress()),
                Section(id="feedback", title="Two-way feedback", metrics=self.instruments()),
                Section(id="outcomes", title="Outcomes, before and after", metrics=self.change()),
                Section(id="follow-up", title="Months after the end", metrics=self.follow_ups()),
                Section(id="goals", title="The program's goals", metrics=self.goals()),
                Section(id="concerns", title="Concerns", metrics=self.concerns()),
            ],
            notes=[
                f"Cells describing fewer than {self.k} people or relationships are "
                "suppressed, and so are further cells of the same split, smallest first, "
                "until what is hidden could not be recovered by subtraction.",
                "Intervals are 95%: Wilson for rates, Student's t for means.",
                "Scores are the mean of an instrument's items (1 strongly disagree - "
                "5 strongly agree); a person's answers in several windows are averaged first.",
                "Change is the final (or follow-up) minus the baseline score of the same "
                "person in the same relationship.",
                "Follow-ups ask both people again months after the end: what they still do "
                "differently (behaviour) and what came of it (results), and their outcomes.",
                "Figures built from answers and concerns are confidential: how many had a "
                "concern is suppressed like a group's size, splits are also checked crossed "
                "with each other, and such a figure changes only once at least "
                f"{self.k} people's contributions to each of its cells have changed since it "
                "was last shown (until then it is shown as it was, with the date).",
            ],
        )

    # -- sections -----------------------------------------------------------------------

    def enrolment(self) -> list[Metric]:
        # Everyone who enrolled; under the erase policy leavers are gone from the facts.
        people = list(self.f.participants)
        paired = {
            ref
            for p in self.f.pairings
            if p.outcome is PairingOutcome.CONFIRMED
            for ref in (p.mentor_ref, p.mentee_ref)
        }

        def person(p: Participant, value: float) -> Observation:
            return Observation(
                p.ref, value, {"institution": p.institution, "profession": p.profession}
            )

        decided = [p for p in self.f.pairings if p.outcome is not PairingOutcome.PROPOSED]
        return [
            metric(
                "enrolled",
                "People enrolled",
                Kind.COUNT,
                "participants",
                [person(p, 1) for p in people],
                self.k,
                PERSON_SPLITS,
            ),
            metric(
                "withdrew",
                "Share of enrolled people who withdrew (anonymise policy; erased people "
                "are not counted)",
                Kind.RATE,
                "participants",
                [person(p, p.withdrawn) for p in people],
                self.k,
                PERSON_SPLITS,
            ),
            metric(
                "paired",
                "Share of enrolled people in a confirmed pairing",
                Kind.RATE,
                "participants",
                [person(p, p.ref in paired) for p in people],
                self.k,
                PERSON_SPLITS,
            ),
            metric(
                "accepted",
                "Share of answered proposals both sides accepted",
                Kind.RATE,
                "proposals",
                [
                    Observation(p.id, p.outcome is PairingOutcome.CONFIRMED, {"mode": p.mode.value})
                    for p in decided
                ],
                self.k,
                ("mode",),
            ),
        ]

    def progress(self) -> list[Metric]:
        rs = self.f.relationships

        def per_relationship(id: str, label: str, kind: Kind, values: list[float]) -> Metric:
            observations = [
                Observation(r.id, v, _groups(r)) for r, v in zip(rs, values, strict=True)
            ]
            return metric(
                id, label, kind, "relationships", observations, self.k, RELATIONSHIP_SPLITS
            )

        return [
            per_relationship("started", "Relationships started", Kind.COUNT, [1] * len(rs)),
            per_relationship(
                "completed",
                "Share of relationships completed",
                Kind.RATE,
                [r.status is RelationshipStatus.COMPLETED for r in rs],
            ),
            per_relationship(
                "ended-early",
                "Share of relationships ended early (no-fault exit or withdrawal)",
                Kind.RATE,
                [r.status is RelationshipStatus.ENDED for r in rs],
            ),
            per_relationship(
                "sessions-held",
                "Sessions held per relationship",
                Kind.MEAN,
                [r.sessions_held for r in rs],
            ),
        ]

    def _scores(
        self, instrument: Instrument, kind: WindowKind | None, months: int | None = None
    ) -> list[Response]:
        return [
            r
            for r in self.f.responses
            if r.instrument == instrument.key
            and (kind is None or r.kind == kind)
            and (months is None or r.months_after_end == months)
            and r.relationship_id in self.relationships
        ]

    @property
    def _months(self) -> list[int]:
        """Follow-up months planned now, and any answered under an earlier plan."""
        answered = {r.months_after_end for r in self.f.responses if r.months_after_end}
        return sorted(answered | set(self.f.program.evaluation.follow_up_months))

    def _change(
        self, instrument: Instrument, later: list[Response], items: list[str] | None = None
    ) -> list[Observation]:
        """`later` score minus the same person's baseline in the same relationship, over
        `items` (all the instrument's if None)."""

        def score(r: Response) -> float:
            asked = items or list(r.answers)
            return sum(r.answers[i] for i in asked) / len(asked)

        before = {
            (r.respondent_ref, r.relationship_id): score(r)
            for r in self._scores(instrument, WindowKind.BASELINE)
        }
        return [
            Observation(
                r.respondent_ref,
                score(r) - before[(r.respondent_ref, r.relationship_id)],
                _groups(self.relationships[r.relationship_id]),
            )
            for r in later
            if (r.respondent_ref, r.relationship_id) in before
        ]

    def _item_observations(
        self, instrument: Instrument, responses: list[Response]
    ) -> list[tuple[str, list[Observation]]]:
        return [
            (item.id, [Observation(r.respondent_ref, r.answers[item.id]) for r in responses])
            for item in instrument.items
        ]

    def instruments(self) -> list[Metric]:
        metrics = []
        for instrument in INSTRUMENTS:
            if instrument.purpose not in (Purpose.CHECK_IN, Purpose.RATING):
                continue
            responses = self._scores(instrument, None)
            observations = [
                Observation(
                    r.respondent_ref, scale_score(r), _groups(self.relationships[r.relationship_id])
                )
                for r in responses
            ]
            metrics.append(
                metric(
                    instrument.key,
                    f"{instrument.title}: {instrument.id} (mean score)",
                    Kind.MEAN,
                    "respondents",
                    observations,
                    self.k,
                    RELATIONSHIP_SPLITS,
                    items=partial(self._item_observations, instrument, responses),
                    confidential=True,
                )
            )
        return metrics

    def _confidential_mean(
        self,
        id: str,
        label: str,
        observations: list[Observation],
        items: Callable[[], list[tuple[str, list[Observation]]]] | None = None,
        target: float | None = None,
    ) -> Metric:
        return metric(
            id,
            label,
            Kind.MEAN,
            "respondents",
            observations,
            self.k,
            RELATIONSHIP_SPLITS,
            items=items,
            confidential=True,
            target=target,
        )

    def change(self) -> list[Metric]:
        metrics = []
        for instrument in INSTRUMENTS:
            if instrument.purpose is not Purpose.OUTCOME:
                continue
            whose = f"{instrument.respondent.value}s' outcomes: {instrument.id}"
            metrics.append(
                self._confidential_mean(
                    f"{instrument.key}.change",
                    f"Change in {whose}",
                    self._change(instrument, self._scores(instrument, WindowKind.FINAL)),
                )
            )
            for months in self._months:
                later = self._scores(instrument, WindowKind.FOLLOW_UP, months)
                metrics.append(
                    self._confidential_mean(
                        f"{instrument.key}.change-{months}m",
                        f"Change in {whose}, {months} months after the end",
                        self._change(instrument, later),
                    )
                )
        return metrics

    def follow_ups(self) -> list[Metric]:
        """Behaviour and results at work, per follow-up: scores, since nothing before the
        relationship asked about them."""
        metrics = []
        for instrument in INSTRUMENTS:
            if instrument.purpose is not Purpose.FOLLOW_UP:
                continue
            for months in self._months:
                responses = self._scores(instrument, WindowKind.FOLLOW_UP, months)
                metrics.append(
                    self._confidential_mean(
                        f"{instrument.key}.{months}m",
                        f"{instrument.title}, {months} months after the end: "
                        f"{instrument.id} (mean score)",
                        [
                            Observation(
                                r.respondent_ref,
                                scale_score(r),
                                _groups(self.relationships[r.relationship_id]),
                            )
                            for r in responses
                        ],
                        items=partial(self._item_observations, instrument, responses),
                    )
                )
        return metrics

    def goals(self) -> list[Metric]:
        """Each goal at each time it is measured: the mean of its items per person, or for
        learning the change of that mean from the same person's baseline."""
        metrics = []
        for goal in self.f.program.evaluation.goals:
            for when, kind, months in self._times(goal):
                observations = []
                for measured, items in self._measured(goal).items():
                    later = self._scores(measured, kind, months)
                    if goal.level is Level.LEARNING:
                        observations += self._change(measured, later, items)
                        continue
                    observations += [
                        Observation(
                            r.respondent_ref,
                            sum(r.answers[i] for i in items) / len(items),
                            _groups(self.relationships[r.relationship_id]),
                        )
                        for r in later
                    ]
                change = "change in " if goal.level is Level.LEARNING else ""
                metrics.append(
                    self._confidential_mean(
                        f"goal.{goal.key}.{when}",
                        f"{goal.statement} ({goal.level.value}: {change}mean of "
                        f"{len(goal.measures)} item(s), {when.replace('-', ' ')})",
                        observations,
                        target=goal.target,
                    )
                )
        return metrics

    @staticmethod
    def _measured(goal: Goal) -> dict[Instrument, list[str]]:
        by_instrument: dict[Instrument, list[str]] = {}
        for measure in goal.measures:
            instrument, item = measured_item(measure)
            by_instrument.setdefault(instrument, []).append(item.id)
        return by_instrument

    def _times(self, goal: Goal) -> list[tuple[str, WindowKind | None, int | None]]:
        """When a goal's items are asked: reactions throughout, learning at the end and
        at each follow-up, behaviour and results at each follow-up."""
        follow_ups: list[tuple[str, WindowKind | None, int | None]] = [
            (f"{m}-months", WindowKind.FOLLOW_UP, m) for m in self._months
        ]
        if goal.level is Level.REACTION:
            return [("during", None, None)]
        if goal.level is Level.LEARNING:
            return [("at-the-end", WindowKind.FINAL, None), *follow_ups]
        return follow_ups

    def concerns(self) -> list[Metric]:
        with_concern = {c.relationship_id for c in self.f.concerns}
        return [
            metric(
                "concern-rate",
                "Share of relationships with a concern reported",
                Kind.RATE,
                "relationships",
                [Observation(r.id, r.id in with_concern, _groups(r)) for r in self.f.relationships],
                self.k,
                RELATIONSHIP_SPLITS,
                confidential=True,
            ),
            metric(
                "concerns",
                "Concerns reported, by category",
                Kind.COUNT,
                "concerns",
                [Observation(c.id, 1, {"category": c.category.value}) for c in self.f.concerns],
                self.k,
                ("category",),
                confidential=True,
            ),
        ]
