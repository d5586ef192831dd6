"""A profile as a person fills it in on a page, checked field by field before anything is
sent: each problem names the field and the reason, and nothing entered is lost."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from telemachus.shared.contracts.vocabulary import CareerStage, Profession, Weekday

SLOT_ROWS = 6
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$")
# The profile fields a person can consent to share, in the order a consent page lists them.
SHAREABLE = (
    "profession",
    "career_stage",
    "department",
    "line_manager",
    "topics_offered",
    "topics_sought",
    "availability",
    "languages",
    "max_relationships",
)
# What matching needs at least: without these nobody can be proposed.
NEEDED_FOR_MATCHING = ("career_stage", "topics_offered", "topics_sought")


def N_(message: str) -> str:
    """Marks a message for the catalogs; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class Problem:
    """What is wrong with a field: a message id for the catalogs and its values."""

    message: str
    values: Mapping[str, str] = field(default_factory=dict)


@dataclass
class ProfileForm:
    values: dict[str, Any]
    errors: dict[str, Problem] = field(default_factory=dict)
    changes: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors


def time_zones() -> list[str]:
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))


def form_values(profile: Mapping[str, Any]) -> dict[str, Any]:
    """A stored profile as the form's fields."""
    values: dict[str, Any] = {
        "profession": profile.get("profession", ""),
        "career_stage": str(profile.get("career_stage", "")),
        "languages": ", ".join(profile.get("languages", [])),
        "max_relationships": str(profile.get("max_relationships", 1)),
    }
    for offer in profile.get("topics_offered", []):
        values[f"offer-{offer['topic']}"] = str(offer["proficiency"])
    for need in profile.get("topics_sought", []):
        values[f"seek-{need['topic']}"] = str(need["priority"])
    availability = profile.get("availability") or {}
    values["time_zone"] = availability.get("time_zone", "")
    for index, slot in enumerate(availability.get("slots", [])[:SLOT_ROWS]):
        values[f"slot-{index}-day"] = slot["day"]
        values[f"slot-{index}-start"] = str(slot["start"])[:5]
        values[f"slot-{index}-end"] = str(slot["end"])[:5]
    return values


def read_profile(form: Mapping[str, str], topics: list[str]) -> ProfileForm:
    values = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
    checked = ProfileForm(values)
    errors, changes = checked.errors, checked.changes

    if values.get("profession") not in Profession._value2member_map_:
        errors["profession"] = Problem(N_("choose your profession"))
    else:
        changes["profession"] = values["profession"]
    try:
        changes["career_stage"] = CareerStage(int(values.get("career_stage", ""))).value
    except ValueError:
        errors["career_stage"] = Problem(N_("choose your career stage"))

    languages = [part.strip() for part in values.get("languages", "").split(",") if part.strip()]
    wrong = [lang for lang in languages if not LANGUAGE.match(lang)]
    if wrong:
        errors["languages"] = Problem(
            N_("not a language code: %(codes)s (e.g. en, fr, pt-BR)"), {"codes": ", ".join(wrong)}
        )
    else:
        changes["languages"] = languages
    try:
        most = int(values.get("max_relationships", ""))
        if not 1 <= most <= 12:
            raise ValueError
        changes["max_relationships"] = most
    except ValueError:
        errors["max_relationships"] = Problem(N_("a whole number from 1 to 12"))

    offered, sought = [], []
    for topic in topics:
        offer, seek = values.get(f"offer-{topic}", ""), values.get(f"seek-{topic}", "")
        if offer:
            offered.append({"topic": topic, "proficiency": int(offer)})
        if seek:
            sought.append({"topic": topic, "priority": int(seek)})
    changes["topics_offered"], changes["topics_sought"] = offered, sought

    zone = values.get("time_zone", "")
    slots = _slots(values, errors)
    if zone:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            errors["time_zone"] = Problem(
                N_("not a time zone: %(zone)s (e.g. Europe/London)"), {"zone": zone}
            )
    elif slots:
        errors["time_zone"] = Problem(N_("say which time zone your free times are in"))
    if zone and "time_zone" not in errors and not any(k.startswith("slot-") for k in errors):
        changes["availability"] = {"time_zone": zone, "slots": slots}
    return checked


def _slots(values: Mapping[str, str], errors: dict[str, Problem]) -> list[dict[str, str]]:
    slots = []
    for index in range(SLOT_ROWS):
        day, start, end = (
            values.get(f"slot-{index}-{part}", "") for part in ("day", "start", "end")
        )
        if not (day or start or end):
            continue
        key = f"slot-{index}"
        if day not in Weekday._value2member_map_:
            errors[f"{key}-day"] = Problem(N_("choose a day"))
            continue
        try:
            begins, ends = time.fromisoformat(start), time.fromisoformat(end)
        except ValueError:
            errors[f"{key}-start"] = Problem(
                N_("give a start and an end time, e.g. 09:00 and 10:30")
            )
            continue
        if ends <= begins:
            errors[f"{key}-end"] = Problem(N_("the end must be after the start"))
            continue
        slots.append(
            {"day": day, "start": begins.isoformat("minutes"), "end": ends.isoformat("minutes")}
        )
    return slots
