"""The research export's files for statistics packages: Parquet, SPSS (.sav), Stata (.dta).

Kept apart from export.py because pandas, pyarrow and pyreadstat take seconds to import:
only a request for one of these formats loads them.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyreadstat

from telemachus.feedback.reporting.export import (
    MISSING,
    MISSING_AS_IS,
    STATA_MISSING,
    Column,
    Dataset,
    ExportFormat,
)

ARROW_TYPES = {"string": pa.string(), "integer": pa.int64()}


def _parquet(data: Dataset) -> bytes:
    schema = pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in data.columns])
    table = pa.Table.from_pylist(data.rows, schema=schema)
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def _frame(data: Dataset, missing_as: Mapping[int, Any] | None = None) -> pd.DataFrame:
    columns = {}
    for c in data.columns:
        values = [row[c.name] for row in data.rows]
        if c.type == "integer" and missing_as is not None and c.missing is not None:
            values = [missing_as.get(v, v) for v in values]
            columns[c.name] = pd.Series(values, dtype=object)
        else:
            columns[c.name] = pd.Series(values, dtype="int64" if c.type == "integer" else object)
    return pd.DataFrame(columns)


def _sav(data: Dataset) -> bytes:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "answers.sav"
        pyreadstat.write_sav(
            _frame(data),
            path,
            file_label="Telemachus feedback answers",
            column_labels={c.name: c.description[:256] for c in data.columns},
            variable_value_labels={
                c.name: _labels(c, MISSING_AS_IS)
                for c in data.columns
                if c.value_labels or c.missing
            },
            missing_ranges={c.name: [c.missing] for c in data.columns if c.missing},
            variable_measure={c.name: _measure(c) for c in data.columns},
        )
        return path.read_bytes()


def _dta(data: Dataset) -> bytes:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "answers.dta"
        pyreadstat.write_dta(
            _frame(data, STATA_MISSING),
            path,
            file_label="Telemachus feedback answers",
            column_labels={c.name: c.description[:80] for c in data.columns},  # Stata's limit
            variable_value_labels={
                c.name: _labels(c, STATA_MISSING)
                for c in data.columns
                if c.value_labels or c.missing
            },
            missing_user_values={
                c.name: [STATA_MISSING[c.missing]] for c in data.columns if c.missing
            },
        )
        return path.read_bytes()


def _labels(column: Column, written_as: Mapping[int, Any]) -> dict[Any, str]:
    """A column's value labels, its missing code's too, as the format writes that code."""
    labels: dict[Any, str] = dict(column.value_labels)
    if column.missing is not None:
        labels[written_as.get(column.missing, column.missing)] = MISSING[column.missing]
    return labels


def _measure(column: Column) -> str:
    if column.type == "string" or column.categories:
        return "nominal"
    return "ordinal" if column.labels else "scale"


WRITERS = {
    ExportFormat.PARQUET: _parquet,
    ExportFormat.SAV: _sav,
    ExportFormat.DTA: _dta,
}
