"""One ordinal career scale across professions, and how local job titles map onto it.

Reverse mentoring runs from a lower stage (the mentor) to a higher one (the mentee); the
scale only has to order people, not to equate jobs. docs/identity.md shows this table.
"""

from __future__ import annotations

from telemachus.shared.contracts.vocabulary import CareerStage, Profession

S = CareerStage
# (profession, lower-case title) -> stage. "*" applies to every profession.
TITLES: dict[tuple[str, str], CareerStage] = {
    ("*", "student"): S.STUDENT,
    ("*", "trainee"): S.STUDENT,
    ("medicine", "intern"): S.EARLY_CAREER,
    ("medicine", "resident"): S.EARLY_CAREER,
    ("medicine", "junior doctor"): S.EARLY_CAREER,
    ("medicine", "registrar"): S.MID_CAREER,
    ("medicine", "fellow"): S.MID_CAREER,
    ("medicine", "consultant"): S.SENIOR,
    ("medicine", "attending"): S.SENIOR,
    ("medicine", "head of department"): S.LEADER,
    ("nursing", "graduate nurse"): S.EARLY_CAREER,
    ("nursing", "registered nurse"): S.EARLY_CAREER,
    ("nursing", "clinical nurse specialist"): S.MID_CAREER,
    ("nursing", "nurse unit manager"): S.SENIOR,
    ("nursing", "director of nursing"): S.LEADER,
    ("pharmacy", "intern pharmacist"): S.EARLY_CAREER,
    ("pharmacy", "pharmacist"): S.EARLY_CAREER,
    ("pharmacy", "senior pharmacist"): S.MID_CAREER,
    ("pharmacy", "chief pharmacist"): S.LEADER,
    ("dentistry", "dentist"): S.EARLY_CAREER,
    ("dentistry", "specialist dentist"): S.SENIOR,
    ("education", "tutor"): S.EARLY_CAREER,
    ("education", "lecturer"): S.MID_CAREER,
    ("education", "senior lecturer"): S.SENIOR,
    ("education", "associate professor"): S.SENIOR,
    ("*", "professor"): S.LEADER,
    ("research", "research assistant"): S.EARLY_CAREER,
    ("research", "postdoctoral researcher"): S.EARLY_CAREER,
    ("research", "research fellow"): S.MID_CAREER,
    ("research", "principal investigator"): S.SENIOR,
    ("research", "director"): S.LEADER,
    ("*", "junior"): S.EARLY_CAREER,
    ("*", "senior"): S.MID_CAREER,
    ("*", "principal"): S.SENIOR,
    ("*", "chief"): S.LEADER,
}
for _p in ("physiotherapy", "speech-pathology"):
    for _title, _stage in (
        ("graduate", S.EARLY_CAREER),
        ("clinician", S.EARLY_CAREER),
        ("senior clinician", S.MID_CAREER),
        ("clinical specialist", S.SENIOR),
        ("manager", S.SENIOR),
        ("director", S.LEADER),
    ):
        TITLES[(_p, _title)] = _stage
STAGE_NAMES = {stage.name.lower().replace("_", "-"): stage for stage in CareerStage}


def career_stage_of(profession: Profession | str, value: str) -> CareerStage | None:
    """A stage from its number (1-5), its name (early-career) or a known job title."""
    text = " ".join(value.strip().lower().split())
    if text.isdigit() and int(text) in CareerStage._value2member_map_:
        return CareerStage(int(text))
    if text in STAGE_NAMES:
        return STAGE_NAMES[text]
    return TITLES.get((str(profession), text)) or TITLES.get(("*", text))
