"""The research export: a de-identified dataset of answers with its codebook.

One row per answered instrument. People and relationships appear only as pseudonyms made
with a key drawn for this export and then forgotten: stable within the export (a person's
baseline and final rows share a pseudonym), unlinkable across exports. No reference, name
or e-mail from any service is written; institutions appear only as "same or different";
dates only as days since the relationship started; comments only if the program opted in.
Answers of people who withdrew under the anonymise policy stay out (aggregates only).
Rows come in a fresh random order each time (position links no two exports), and only in
classes of at least k relationships on the quasi-identifiers (anonymity.py).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import re
import secrets
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from telemachus.feedback.domain.instruments import BY_KEY, INSTRUMENTS, WindowKind
from telemachus.feedback.reporting.anonymity import QUASI_IDENTIFIERS, k_anonymous
from telemachus.feedback.reporting.evaluation import ProgramFacts


class ExportFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"
    SAV = "sav"  # SPSS, with value labels and user-missing values
    DTA = "dta"  # Stata 15, with value labels and extended missing values (.a, .b, .c)


# What is missing, coded alike in every format and declared missing in .sav and .dta
# (.a, .b and .c there): numbers, so that no column changes type for lack of a value.
NOT_ASKED, WITHHELD, NOT_APPLICABLE = -9, -8, -7
MISSING = {
    NOT_ASKED: "not asked: an item of another instrument than this row's",
    WITHHELD: "withheld by disclosure control (see disclosure_control)",
    NOT_APPLICABLE: "not applicable to this row",
}
STATA_MISSING = {NOT_ASKED: "a", WITHHELD: "b", NOT_APPLICABLE: "c"}
MISSING_AS_IS: dict[int, Any] = {}
LIKERT = {1: "strongly disagree", 2: "disagree", 3: "neutral", 4: "agree", 5: "strongly agree"}
NO_YES = {0: "no", 1: "yes"}
# A variable name Stata, SPSS and R all take: a letter, then letters, digits or "_".
VALID_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True)
class Column:
    name: str  # VALID_NAME
    type: str  # integer or string
    description: str
    # Categories are written as codes 1, 2, ... in this order, each with its label.
    categories: tuple[str, ...] = ()
    labels: Mapping[int, str] = field(default_factory=dict)  # codes of a numeric column
    missing: int | None = None  # what an absent value is written as (integer columns)
    source: str | None = None  # an item's "instrument.item"

    def __post_init__(self) -> None:
        if not VALID_NAME.match(self.name):
            raise ValueError(f"{self.name!r} is not a valid name in Stata, SPSS or R")

    @property
    def value_labels(self) -> dict[int, str]:
        return {i + 1: c for i, c in enumerate(self.categories)} or dict(self.labels)

    def code(self, value: Any) -> Any:
        if value is None:
            return self.missing if self.type == "integer" else ""
        if isinstance(value, bool):
            return int(value)
        if self.categories:
            return self.categories.index(value) + 1
        return value


def item_column(instrument_id: str, item_id: str) -> str:
    """`mentor-check-in`, `useful` -> `mentor_ci_useful`: the instrument's subject, its
    kind's initials, the item; short enough for Stata's 32 characters."""
    subject, _, kind = instrument_id.partition("-")
    initials = "".join(part[0] for part in kind.split("-"))
    return f"{subject}_{initials}_{item_id.replace('-', '_')}"


FIXED = (
    Column("person", "string", "pseudonym of the respondent, valid in this export only"),
    Column("relationship", "string", "pseudonym of the relationship, valid in this export only"),
    Column(
        "role",
        "integer",
        "the respondent's role: the junior mentor or the senior mentee",
        ("mentor", "mentee"),
    ),
    Column(
        "pairing_mode",
        "integer",
        "how the pair was made: coordinator-assigned optimal matching, participant-ranked "
        "stable matching, or a mix",
        ("assigned", "ranked", "mixed"),
    ),
    Column("mentor_profession", "string", "the mentor's profession, if shared; empty: withheld"),
    Column("mentee_profession", "string", "the mentee's profession, if shared; empty: withheld"),
    Column(
        "cross_institution",
        "integer",
        "mentor and mentee come from different institutions",
        labels=NO_YES,
        missing=WITHHELD,
    ),
    Column(
        "relationship_status",
        "integer",
        "at export time (closed: completed or ended, where the generalisation says so)",
        ("active", "completed", "ended", "closed"),
        missing=WITHHELD,
    ),
    Column(
        "sessions_held",
        "string",
        "sessions held in the relationship at export time: a number, or a band (0, 1-2, "
        "3-5, 6+) where the codebook's generalisation says so; empty: withheld",
    ),
    Column(
        "window",
        "integer",
        "when the answer was asked for: at the start, after a session, at the end, or "
        "months after the end",
        tuple(k.value for k in WindowKind),
    ),
    Column(
        "months_after_end",
        "integer",
        "follow-ups only: how many months after the relationship ended it was asked",
        missing=NOT_APPLICABLE,
    ),
    Column("day", "integer", "days from the relationship's start to the answer"),
    Column("instrument", "integer", "which instrument was answered", tuple(BY_KEY)),
    Column("instrument_version", "integer", "the instrument's version"),
)
COMMENT = Column("comment", "string", "free text the respondent wrote (program opted in)")


def item_columns() -> list[Column]:
    """One column per item of every instrument: 1-5, or not asked in another's rows."""
    columns: dict[str, Column] = {}
    for instrument in INSTRUMENTS:
        for item in instrument.items:
            name = item_column(instrument.id, item.id)
            columns.setdefault(
                name,
                Column(
                    name,
                    "integer",
                    f"{instrument.title} ({instrument.respondent.value} answers): "
                    f'"{item.statement}"',
                    labels=LIKERT,
                    missing=NOT_ASKED,
                    source=f"{instrument.id}.{item.id}",
                ),
            )
    return list(columns.values())


@dataclass(frozen=True)
class Dataset:
    columns: list[Column]
    rows: list[dict[str, Any]]
    k: int
    generalisation: list[str]
    rows_withheld: int
    relationships_withheld: int

    def codebook(self, program_id: str, generated_at: datetime) -> dict[str, Any]:
        return {
            "dataset": "telemachus feedback answers",
            "program_id": program_id,
            "generated_at": generated_at.isoformat(),
            "unit": "one row per answered instrument (a person, a window, an instrument)",
            "rows": len(self.rows),
            "row_order": "random, drawn anew for each export",
            "disclosure_control": {
                "quasi_identifiers": list(QUASI_IDENTIFIERS),
                "k": self.k,
                "rule": "every combination of the quasi-identifiers holds at least k "
                f"relationships; withheld cells are empty (text) or {WITHHELD} (numbers)",
                "generalisation": self.generalisation,
                "rows_withheld": self.rows_withheld,
                "relationships_withheld": self.relationships_withheld,
            },
            "names": "valid in Stata, SPSS and R; an item's `source` is its instrument and "
            "item id (GET /instruments)",
            "missing_values": {str(code): meaning for code, meaning in MISSING.items()},
            "columns": [
                {
                    "name": c.name,
                    "type": c.type,
                    "description": c.description,
                    **({"source": c.source} if c.source else {}),
                    **(
                        {"values": {str(k): v for k, v in c.value_labels.items()}}
                        if c.value_labels
                        else {}
                    ),
                    **({"missing": {str(c.missing): MISSING[c.missing]}} if c.missing else {}),
                }
                for c in self.columns
            ],
        }


class Pseudonyms:
    """Keyed hashes with a key no one keeps: the same input gives the same pseudonym here,
    and nothing links it to the pseudonym another export gives."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def __call__(self, prefix: str, value: str) -> str:
        digest = hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()
        return f"{prefix}-{digest[:12]}"


def dataset(facts: ProgramFacts) -> Dataset:
    free_text = facts.program.settings.export_free_text
    columns = [*FIXED, *item_columns(), *([COMMENT] if free_text else [])]
    relationships = {r.id: r for r in facts.relationships}
    pseudonym = Pseudonyms()
    rows = []
    for response in sorted(facts.responses, key=lambda r: (r.relationship_id, r.submitted_at)):
        relationship = relationships.get(response.relationship_id)
        if relationship is None or response.anonymised:
            continue
        instrument = BY_KEY[response.instrument]
        row: dict[str, Any] = dict.fromkeys((c.name for c in columns), None)
        row.update(
            person=pseudonym("P", response.respondent_ref),
            relationship=pseudonym("R", relationship.id),
            role=response.role.value,
            pairing_mode=relationship.mode.value,
            mentor_profession=relationship.mentor_profession,
            mentee_profession=relationship.mentee_profession,
            cross_institution=relationship.mentor_institution != relationship.mentee_institution,
            relationship_status=relationship.status.value,
            sessions_held=str(relationship.sessions_held),
            window=response.kind.value,
            months_after_end=response.months_after_end,
            day=(response.submitted_at.date() - relationship.starts_on).days,
            instrument=instrument.key,
            instrument_version=instrument.version,
        )
        for item_id, value in response.answers.items():
            row[item_column(instrument.id, item_id)] = value
        if free_text:
            row["comment"] = response.comment
        rows.append(row)
    k = facts.program.reporting_threshold
    released = k_anonymous(rows, k)
    # Coded for statistics packages only now: disclosure control compares the words.
    shuffled = [{c.name: c.code(row[c.name]) for c in columns} for row in released.rows]
    secrets.SystemRandom().shuffle(shuffled)
    return Dataset(
        columns,
        shuffled,
        k,
        released.steps,
        released.rows_withheld,
        released.relationships_withheld,
    )


def _csv(data: Dataset) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[c.name for c in data.columns], lineterminator="\n")
    writer.writeheader()
    writer.writerows(data.rows)
    return out.getvalue().encode()


def _write(data: Dataset, format: ExportFormat) -> bytes:
    if format is ExportFormat.CSV:
        return _csv(data)
    # Imported here: pandas, pyarrow and pyreadstat take seconds to import, and only these
    # formats need them; every process that imports the feedback service would pay that.
    from telemachus.feedback.reporting import statistics_files

    return statistics_files.WRITERS[format](data)


def archive(facts: ProgramFacts, format: ExportFormat, generated_at: datetime) -> tuple[str, bytes]:
    """A zip with the data (CSV or Parquet) and `codebook.json`; and its file name."""
    data = dataset(facts)
    body = _write(data, format)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"answers.{format.value}", body)
        codebook = data.codebook(facts.program.id, generated_at)
        z.writestr("codebook.json", json.dumps(codebook, indent=2))
    stamp = generated_at.strftime("%Y%m%dT%H%M%SZ")
    return f"feedback-export-{stamp}.zip", out.getvalue()
