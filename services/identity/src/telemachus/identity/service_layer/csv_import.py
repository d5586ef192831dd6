"""Participants from a coordinator's CSV file: one row a person, every row judged alone.

Columns (header row required, any order; only display_name, work_email, profession and
career_stage must be present):

  display_name, work_email, subject, employee_number, profession, career_stage,
  department, line_manager_id, topics_offered, topics_sought, languages, max_relationships,
  time_zone, availability

List cells use ';' between items: topics as `topic:level` (`e-medicine:5;apps:3`),
languages as tags (`en;fr`), availability as `day HH:MM-HH:MM` (`mon 09:00-11:00`).
career_stage takes a number (1-5), a stage name (early-career) or a known job title
(registrar, consultant, senior lecturer; see domain/career_stages.py).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from telemachus.identity.domain.career_stages import career_stage_of
from telemachus.identity.domain.commands import RegisterParticipant
from telemachus.shared.errors import Rejected, problems

REQUIRED_COLUMNS = ("display_name", "work_email", "profession", "career_stage")
OPTIONAL_COLUMNS = (
    "subject",
    "employee_number",
    "department",
    "line_manager_id",
    "topics_offered",
    "topics_sought",
    "languages",
    "max_relationships",
    "time_zone",
    "availability",
)
MAX_ROWS = 50_000


@dataclass(frozen=True)
class FormRefusal:
    line: int
    field: str
    reason: str


@dataclass(frozen=True)
class ParsedFile:
    rows: list[RegisterParticipant]
    line_numbers: list[int]
    refused: list[FormRefusal]
    columns: frozenset[str] = frozenset()  # the header: a re-sync changes only these


class CellError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _items(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _levels(field: str, cell: str, level_name: str) -> list[dict[str, Any]]:
    levels = []
    for item in _items(cell):
        topic, sep, level = item.rpartition(":")
        if not sep or not level.strip().isdigit():
            raise CellError(field, f"{item!r} is not topic:{level_name} (e.g. e-medicine:4)")
        levels.append({"topic": topic.strip(), level_name: int(level)})
    return levels


def _slots(cell: str) -> list[dict[str, str]]:
    slots = []
    for item in _items(cell):
        day, _, hours = item.partition(" ")
        start, sep, end = hours.strip().partition("-")
        if not sep:
            raise CellError("availability", f"{item!r} is not 'day HH:MM-HH:MM'")
        slots.append({"day": day.strip().lower()[:3], "start": start.strip(), "end": end.strip()})
    return slots


def _row_data(cells: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        key: cells[key]
        for key in (
            "display_name",
            "work_email",
            "profession",
            "department",
            "line_manager_id",
            "employee_number",
        )
        if cells.get(key)
    }
    if cells.get("subject"):
        data["subject"] = cells["subject"]
    stage_text = cells.get("career_stage", "")
    stage = career_stage_of(cells.get("profession", ""), stage_text)
    if stage is None:
        raise CellError(
            "career_stage", f"{stage_text!r} is neither 1-5, a stage name nor a known job title"
        )
    data["career_stage"] = stage
    data["topics_offered"] = _levels(
        "topics_offered", cells.get("topics_offered", ""), "proficiency"
    )
    data["topics_sought"] = _levels("topics_sought", cells.get("topics_sought", ""), "priority")
    data["languages"] = _items(cells.get("languages", ""))
    if cells.get("max_relationships"):
        data["max_relationships"] = cells["max_relationships"]
    if cells.get("availability") or cells.get("time_zone"):
        if not cells.get("time_zone"):
            raise CellError("time_zone", "availability needs the time zone it is in")
        data["availability"] = {
            "time_zone": cells["time_zone"],
            "slots": _slots(cells.get("availability", "")),
        }
    return data


def parse_participants(text: str) -> ParsedFile:
    """Rows that passed form checks, and a refusal for each row that did not."""
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise Rejected(f"the header lacks {', '.join(missing)}", field="file")
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise Rejected(f"unknown columns: {', '.join(unknown)}", field="file")
    reader.fieldnames = header
    rows, lines, refused = [], [], []
    for count, cells in enumerate(reader, start=1):
        if count > MAX_ROWS:
            raise Rejected(f"more than {MAX_ROWS} rows; split the file", field="file")
        line = reader.line_num
        if None in cells:
            refused.append(FormRefusal(line, "row", "more cells than the header has columns"))
            continue
        clean = {k: (v or "").strip() for k, v in cells.items()}
        try:
            rows.append(RegisterParticipant.model_validate(_row_data(clean)))
            lines.append(line)
        except CellError as error:
            refused.append(FormRefusal(line, error.field, error.reason))
        except ValidationError as error:
            refused.append(FormRefusal(line, *problems(error, whole="row")[0]))
    if not rows and not refused:
        raise Rejected("the file has a header but no rows", field="file")
    return ParsedFile(rows, lines, refused, frozenset(header))
