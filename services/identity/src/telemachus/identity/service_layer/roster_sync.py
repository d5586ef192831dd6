"""Re-syncing the roster from an HR export (CSV): each row is a known person to update (found
by work e-mail, else employee number) or a new one to register; people missing from a
full roster can be flagged. Only the file's columns change: a column the file lacks
leaves what people filled in themselves (topics, availability) as it is.

A sync is planned over the whole file first (nothing written), so a refused row stops
everything unless the valid rows are wanted; then it is applied in chunks, each its own
transaction. Applying the same file again finds every row unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from telemachus.identity.domain import commands
from telemachus.identity.domain.participants import Participant
from telemachus.identity.service_layer.csv_import import ParsedFile
from telemachus.identity.service_layer.import_report import UNIQUE_FIELDS
from telemachus.identity.service_layer.views import IdentityViews

# CSV columns a re-sync may change on a known person (as Participant attributes).
UPDATABLE = (
    "display_name",
    "work_email",
    "subject",
    "employee_number",
    "profession",
    "career_stage",
    "department",
    "topics_offered",
    "topics_sought",
    "languages",
    "max_relationships",
)


class SyncRow(BaseModel):
    line: int
    status: Literal["created", "updated", "unchanged", "refused"]
    participant_id: str | None = None
    field: str | None = None
    reason: str | None = None


class SyncReport(BaseModel):
    rows_total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    # Refused rows only: the rest are counted, not listed (a roster has thousands).
    refused_rows: list[SyncRow] = Field(default_factory=list)
    # People on the roster but not in the file (when the file is the full roster).
    missing: list[str] = Field(default_factory=list, description="participant ids")


@dataclass
class SyncPlan:
    creates: list[tuple[int, commands.RegisterParticipant]] = field(default_factory=list)
    updates: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    report: SyncReport = field(default_factory=SyncReport)


def _changes(
    person: Participant, row: commands.RegisterParticipant, columns: frozenset[str]
) -> dict[str, Any]:
    wanted = row.model_dump(include=set(UPDATABLE) & set(columns))
    if {"time_zone", "availability"} & columns:
        wanted["availability"] = row.availability.model_dump() if row.availability else None
    current = person.model_dump(include=set(wanted))
    return {k: v for k, v in wanted.items() if current.get(k) != v}


async def plan_sync(views: IdentityViews, parsed: ParsedFile, flag_missing: bool) -> SyncPlan:
    plan = SyncPlan()
    report = plan.report
    report.rows_total = len(parsed.rows) + len(parsed.refused)
    for problem in parsed.refused:
        report.refused_rows.append(
            SyncRow(line=problem.line, status="refused", field=problem.field, reason=problem.reason)
        )
    roster = await views.participants(None)
    by_email = {p.work_email.lower(): p for p in roster}
    by_number = {p.employee_number: p for p in roster if p.employee_number}
    owner: dict[str, dict[str, str]] = {
        name: {str(getattr(p, name)).lower(): p.id for p in roster} for name in UNIQUE_FIELDS
    }
    claimed: dict[str, dict[str, int]] = {name: {} for name in UNIQUE_FIELDS}
    matched: set[str] = set()
    for line, row in zip(parsed.line_numbers, parsed.rows, strict=True):
        person = by_email.get(str(row.work_email).lower()) or (
            by_number.get(row.employee_number) if row.employee_number else None
        )
        me = person.id if person else None
        if me is not None and me in matched:
            report.refused_rows.append(
                SyncRow(
                    line=line,
                    status="refused",
                    field="work_email",
                    reason="this person is in an earlier row",
                )
            )
            continue
        values = {"work_email": str(row.work_email), "subject": row.subject or str(row.work_email)}
        if person is not None and "subject" not in parsed.columns:
            values["subject"] = person.subject
        clash: tuple[str, str] | None = None
        for name in UNIQUE_FIELDS:
            value = values[name].lower()
            holder = owner[name].get(value)
            if holder is not None and holder != me:
                clash = (name, f"another participant has this {name}")
            elif value in claimed[name]:
                clash = (name, f"{name} repeats line {claimed[name][value]}")
            if clash:
                break
        if clash:
            report.refused_rows.append(
                SyncRow(line=line, status="refused", field=clash[0], reason=clash[1])
            )
            continue
        for name in UNIQUE_FIELDS:
            claimed[name][values[name].lower()] = line
        if person is None:
            plan.creates.append((line, row))
            report.created += 1
            continue
        matched.add(person.id)
        changes = _changes(person, row, parsed.columns)
        if changes:
            plan.updates.append((line, person.id, changes))
            report.updated += 1
        else:
            report.unchanged += 1
    report.refused = len(report.refused_rows)
    report.refused_rows.sort(key=lambda r: r.line)
    if flag_missing:
        report.missing = sorted(
            p.id for p in roster if p.id not in matched and p.active is not False
        )
    return plan
