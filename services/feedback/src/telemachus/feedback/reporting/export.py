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
import secrets
import zipfile
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from telemachus.feedback.domain.instruments import BY_KEY, INSTRUMENTS, WindowKind
from telemachus.feedback.reporting.anonymity import QUASI_IDENTIFIERS, k_anonymous
from telemachus.feedback.reporting.evaluation import ProgramFacts


class ExportFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # string, integer, boolean
    description: str
    values: tuple[str, ...] = ()


def item_column(instrument_id: str, item_id: str) -> str:
    return f"{instrument_id}.{item_id}"


FIXED = (
    Column("person", "string", "pseudonym of the respondent, valid in this export only"),
    Column("relationship", "string", "pseudonym of the relationship, valid in this export only"),
    Column("role", "string", "the respondent's role in the relationship", ("mentor", "mentee")),
    Column(
        "pairing_mode",
        "string",
        "how the pair was made: coordinator-assigned optimal matching, participant-ranked "
        "stable matching, or a mix",
        ("assigned", "ranked", "mixed"),
    ),
    Column("mentor_profession", "string", "the mentor's profession, if shared"),
    Column("mentee_profession", "string", "the mentee's profession, if shared"),
    Column("cross_institution", "boolean", "mentor and mentee come from different institutions"),
    Column(
        "relationship_status",
        "string",
        "at export time",
        ("active", "completed", "ended"),
    ),
    Column(
        "sessions_held",
        "string",
        "sessions held in the relationship at export time: a number, or a band (0, 1-2, "
        "3-5, 6+) where the codebook's generalisation says so; empty if withheld",
    ),
    Column(
        "window",
        "string",
        "when the answer was asked for: at the start, after a session, at the end, or "
        "months after the end",
        tuple(k.value for k in WindowKind),
    ),
    Column(
        "months_after_end",
        "integer",
        "follow-ups only: how many months after the relationship ended it was asked; "
        "empty for other windows",
    ),
    Column("day", "integer", "days from the relationship's start to the answer"),
    Column("instrument", "string", "which instrument was answered", tuple(BY_KEY)),
    Column("instrument_version", "integer", "the instrument's version"),
)
COMMENT = Column("comment", "string", "free text the respondent wrote (program opted in)")
ARROW_TYPES = {"string": pa.string(), "integer": pa.int64(), "boolean": pa.bool_()}


def item_columns() -> list[Column]:
    """One column per item of every instrument: 1-5, empty where not that instrument."""
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
                    f'"{item.statement}" 1 strongly disagree - 5 strongly agree',
                    ("1", "2", "3", "4", "5"),
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
                "relationships; empty quasi-identifier cells were withheld",
                "generalisation": self.generalisation,
                "rows_withheld": self.rows_withheld,
                "relationships_withheld": self.relationships_withheld,
            },
            "columns": [
                {
                    "name": c.name,
                    "type": c.type,
                    "description": c.description,
                    **({"values": list(c.values)} if c.values else {}),
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
    shuffled = list(released.rows)
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
    for row in data.rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return out.getvalue().encode()


def _parquet(data: Dataset) -> bytes:
    schema = pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in data.columns])
    table = pa.Table.from_pylist(data.rows, schema=schema)
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def archive(facts: ProgramFacts, format: ExportFormat, generated_at: datetime) -> tuple[str, bytes]:
    """A zip with the data (CSV or Parquet) and `codebook.json`; and its file name."""
    data = dataset(facts)
    body = _csv(data) if format is ExportFormat.CSV else _parquet(data)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"answers.{format.value}", body)
        codebook = data.codebook(facts.program.id, generated_at)
        z.writestr("codebook.json", json.dumps(codebook, indent=2))
    stamp = generated_at.strftime("%Y%m%dT%H%M%SZ")
    return f"feedback-export-{stamp}.zip", out.getvalue()
