"""Feedback instruments, defined as data and versioned.

An instrument's items never change once published: a new wording is a new version, so
answers given to different versions are never averaged together. The items follow the
attributes and benefits of reverse mentoring in Clarke et al. 2019 (Tables 2 to 5), see
DOMAIN.md. Every item is a statement answered on a Likert scale from 1 (strongly
disagree) to 5 (strongly agree).

Each item serves one of Kirkpatrick's levels of evaluation: reactions (check-ins and
ratings), learning (the outcomes, before, after and months later), and behaviour and
results at work, which only a follow-up months after the end can ask (the article notes
how little longitudinal evidence the field has).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from telemachus.shared.errors import Rejected

LIKERT = (1, 5)
MAX_COMMENT = 4000


class Role(StrEnum):
    MENTOR = "mentor"  # the less experienced professional, who teaches the topic
    MENTEE = "mentee"  # the senior colleague, who learns it


class WindowKind(StrEnum):
    """When feedback is asked. The first three are also the wire's `FeedbackWindowKind`."""

    BASELINE = "baseline"  # pre-measure of outcomes at the start of a relationship
    CHECK_IN = "check-in"  # short, after each session held
    FINAL = "final"  # ratings of the other party and the post-measure of outcomes
    FOLLOW_UP = "follow-up"  # months after the end: what lasted, at work


class Level(StrEnum):
    """Kirkpatrick's four levels of training evaluation."""

    REACTION = "reaction"  # how the sessions and the other party were experienced
    LEARNING = "learning"  # knowledge, skills, confidence and networks gained
    BEHAVIOUR = "behaviour"  # what the person does differently at work
    RESULTS = "results"  # what changed for their team, patients or organisation


class Purpose(StrEnum):
    CHECK_IN = "check-in"  # short, after each session
    RATING = "rating"  # one party rates the other's attributes and behaviours
    OUTCOME = "outcome"  # self-reported benefits, at baseline, at the end and after
    FOLLOW_UP = "follow-up"  # behaviour and results at work, months after the end


# The level an instrument's items serve, unless an item says otherwise.
LEVEL_OF_PURPOSE = {
    Purpose.CHECK_IN: Level.REACTION,
    Purpose.RATING: Level.REACTION,
    Purpose.OUTCOME: Level.LEARNING,
}


@dataclass(frozen=True)
class Item:
    id: str
    statement: str
    level: Level | None = None  # None: the instrument's purpose says


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

    def level_of(self, item: Item) -> Level:
        return item.level or LEVEL_OF_PURPOSE[self.purpose]

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


def _items(*pairs: tuple[str, str], level: Level | None = None) -> tuple[Item, ...]:
    return tuple(Item(i, s, level) for i, s in pairs)


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
    # Months after the end (with the outcomes again): what the junior mentor does at work
    # since, and what came of it.
    Instrument(
        "mentor-follow-up",
        1,
        Purpose.FOLLOW_UP,
        Role.MENTOR,
        "Since the mentoring ended",
        _items(
            ("speaks-up", "I speak up to senior colleagues more than before the mentoring."),
            ("uses-network", "I have drawn on senior contacts I made through the mentoring."),
            ("teaches-others", "I have taught what I know to other colleagues since."),
            level=Level.BEHAVIOUR,
        )
        + _items(
            ("career-step", "The mentoring helped me take on a new role, project or course."),
            ("service-change", "Something changed in our service because of what we discussed."),
            level=Level.RESULTS,
        ),
    ),
    # What the senior mentee does at work since, and what their team or patients gained.
    Instrument(
        "mentee-follow-up",
        1,
        Purpose.FOLLOW_UP,
        Role.MENTEE,
        "Since the mentoring ended",
        _items(
            ("uses-learning", "I still use what my mentor taught me in my work."),
            ("changed-practice", "I have changed how I work because of the mentoring."),
            ("involves-juniors", "I involve junior colleagues in decisions more than before."),
            level=Level.BEHAVIOUR,
        )
        + _items(
            ("team-benefit", "My team or my patients have benefited from what I learned."),
            ("passed-on", "I have passed what I learned on to colleagues."),
            level=Level.RESULTS,
        ),
    ),
)

BY_KEY = {i.key: i for i in INSTRUMENTS}

# What each party answers in each kind of window.
_DUE: dict[WindowKind, tuple[Purpose, ...]] = {
    WindowKind.BASELINE: (Purpose.OUTCOME,),
    WindowKind.CHECK_IN: (Purpose.CHECK_IN,),
    WindowKind.FINAL: (Purpose.RATING, Purpose.OUTCOME),
    # The outcomes again, so that what was learned can be compared months on.
    WindowKind.FOLLOW_UP: (Purpose.FOLLOW_UP, Purpose.OUTCOME),
}


def due(kind: WindowKind, role: Role) -> list[Instrument]:
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
