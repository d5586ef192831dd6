"""The report of a participant import: a line per CSV row, accepted or refused and why."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from telemachus.identity.domain.participants import Participant
from telemachus.shared.errors import Rejected

# No two participants of an institution share these (unique indexes back the checks).
UNIQUE_FIELDS = ("work_email", "subject")


def repeated(
    person: Participant, taken: dict[str, set[str]], seen: dict[str, set[str]]
) -> tuple[str, str] | None:
    """(field, reason) if a unique value is stored already or came in an earlier row."""
    for field in UNIQUE_FIELDS:
        value = getattr(person, field)
        if value in taken[field]:
            return field, f"another participant has this {field}"
        if value in seen[field]:
            return field, f"{field} repeats an earlier row"
    return None


class RowResult(BaseModel):
    line: int
    status: Literal["accepted", "refused"]
    participant_id: str | None = None
    field: str | None = None
    reason: str | None = None


class ImportReport(BaseModel):
    imported: int
    refused: int
    rows: list[RowResult]


class ImportRefused(Rejected):
    """Some rows were refused and the coordinator did not ask to import the rest."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(
            f"{report.refused} of {len(report.rows)} rows refused; nothing was imported "
            "(ask with accept_valid=true to import the valid rows)",
            field="file",
        )
        self.report = report

    def extensions(self) -> dict[str, Any]:
        return {"report": self.report.model_dump(mode="json", exclude_none=True)}
