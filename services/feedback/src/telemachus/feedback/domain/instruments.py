"""Feedback instruments, defined as data and versioned.

An instrument's items never change once published: a new wording is a new version, so
answers given to different versions are never averaged together. The items follow the
attributes and benefits of reverse mentoring in Clarke et al. 2019 (Tables 2 to 5), see
DOMAIN.md. Every item is a statement answered on a Likert scale from 1 (strongly
disagree) to 5 (strongly agree).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from telemachus.shared.contracts.feedback import FeedbackWindowKind
from telemachus.shared.errors import Rejected

LIKERT = (1, 5)
MAX_COMMENT = 4000


class Role(StrEnum):
    MENTOR = "mentor"  # the less experienced professional, who teaches the topic
    MENTEE = "mentee"  # the senior colleague, who learns it


class Purpose(StrEnum):
    CHECK_IN = "check-in"  # short, after each session
    RATING = "rating"  # one party rates the other's attributes and behaviours
    OUTCOME = "outcome"  # self-reported benefits, at baseline and at the end (pre/post)


@dataclass(frozen=True)
class Item:
    id: str
    statement: str


@dataclass(frozen=True)
class Instrument:
    id: str  # stable across versions
    version: int
    purpose: Purpose
    respondent: Role
    title: str
    items: tuple[Item, ...]

    @property
    def key(self) -> str:
        return f"{self.id}.v{self.version}"

    def item_ids(self) -> list[str]:
        return [i.id for i in self.items]

    def check(self, answers: dict[str, int], comment: str | None) -> None:
        """Every item answered once on the scale, nothing else; the error names the field."""
        for item_id in answers:
            if item_id not in self.item_ids():
                raise Rejected(
                    f"{item_id!r} is not an item of {self.key}", field=f"answers.{item_id}"
                )
        for item in self.items:
            value = answers.get(item.id)
            if value is None:
                raise Rejected(f"{item.id!r} is not answered", field=f"answers.{item.id}")
            if not LIKERT[0] <= value <= LIKERT[1]:
                raise Rejected(
                    f"{value} is outside the scale {LIKERT[0]}-{LIKERT[1]}",
                    field=f"answers.{item.id}",
                )
        if comment is not None and len(comment) > MAX_COMMENT:
            raise Rejected(f"longer than {MAX_COMMENT} characters", field="comment")


def _items(*pairs: tuple[str, str]) -> tuple[Item, ...]:
    return tuple(Item(i, s) for i, s in pairs)


CHECK_IN = _items(
    ("useful", "This session was useful to me."),
    ("comfortable", "I felt comfortable saying what I think."),
    ("objectives", "We made progress on our agreed learning objectives."),
)

INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument("mentor-check-in", 1, Purpose.CHECK_IN, Role.MENTOR, "After the session", CHECK_IN),
    Instrument("mentee-check-in", 1, Purpose.CHECK_IN, Role.MENTEE, "After the session", CHECK_IN),
    # The mentee rates the mentor (Table 2: effective mentors).
    Instrument(
        "mentor-attributes",
        1,
        Purpose.RATING,
        Role.MENTEE,
        "Your mentor",
        _items(
            ("patience", "My mentor was patient when I met new concepts."),
            ("generous-time", "My mentor was generous with their time."),
            ("enthusiasm", "My mentor was enthusiastic about the topic."),
            ("responsive", "My mentor responded to my needs."),
            ("honest-feedback", "My mentor gave honest, professional feedback."),
            ("communication", "My mentor communicated clearly."),
            ("respects-expertise", "My mentor respected my expertise and experience."),
            ("respects-time", "My mentor understood my limited time."),
            ("joint-objectives", "We set learning objectives together."),
            ("environment", "My mentor made the sessions a comfortable place to learn."),
            ("resources", "My mentor pointed me to useful resources."),
            ("listens", "My mentor listened actively."),
        ),
    ),
    # The mentor rates the mentee (Table 3: effective mentees).
    Instrument(
        "mentee-attributes",
        1,
        Purpose.RATING,
        Role.MENTOR,
        "Your mentee",
        _items(
            ("open-to-concepts", "My mentee was open to new concepts."),
            ("taught-by-junior", "My mentee was at ease being taught by someone more junior."),
            ("takes-feedback", "My mentee took honest feedback well."),
            ("proactive", "My mentee was proactive about their learning needs."),
            ("states-needs", "My mentee stated their needs clearly."),
            ("respects-skill", "My mentee respected my skill."),
            ("practises", "My mentee practised and reviewed between sessions."),
            ("shares-expertise", "My mentee shared clinical and professional expertise."),
        ),
    ),
    # Benefits the mentor reports (Table 4), before and after.
    Instrument(
        "mentor-outcomes",
        1,
        Purpose.OUTCOME,
        Role.MENTOR,
        "Your work and your network",
        _items(
            ("job-satisfaction", "I am satisfied with my job."),
            ("new-skill", "I have professional skills beyond my clinical or research role."),
            ("network", "My professional network includes senior leaders."),
            ("feedback-upward", "I am confident giving honest feedback to senior colleagues."),
            ("research", "I have opportunities to take part in research or projects."),
            ("role-models", "I have role models for my career."),
        ),
    ),
    # Benefits the mentee reports (Table 5), before and after.
    Instrument(
        "mentee-outcomes",
        1,
        Purpose.OUTCOME,
        Role.MENTEE,
        "Your work and your knowledge",
        _items(
            ("enthusiasm", "I feel enthusiastic about my work."),
            ("workplace-insight", "I understand how junior colleagues experience our workplace."),
            ("current-knowledge", "I am up to date with the topic I chose to learn."),
            ("opens-networks", "I open my networks to junior colleagues."),
            ("social-capital", "I know people across the organisation I can ask for help."),
        ),
    ),
)

BY_KEY = {i.key: i for i in INSTRUMENTS}

# What each party answers in each kind of window.
_DUE: dict[FeedbackWindowKind, tuple[Purpose, ...]] = {
    FeedbackWindowKind.BASELINE: (Purpose.OUTCOME,),
    FeedbackWindowKind.CHECK_IN: (Purpose.CHECK_IN,),
    FeedbackWindowKind.FINAL: (Purpose.RATING, Purpose.OUTCOME),
}


def due(kind: FeedbackWindowKind, role: Role) -> list[Instrument]:
    """The current version of each instrument this role answers in this kind of window."""
    latest: dict[str, Instrument] = {}
    for instrument in INSTRUMENTS:
        if instrument.respondent is role and instrument.purpose in _DUE[kind]:
            known = latest.get(instrument.id)
            if known is None or instrument.version > known.version:
                latest[instrument.id] = instrument
    return list(latest.values())


def instrument(key: str) -> Instrument:
    found = BY_KEY.get(key)
    if found is None:
        raise Rejected(f"no instrument {key!r}; known: {', '.join(BY_KEY)}", field="instrument")
    return found
