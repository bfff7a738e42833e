"""Excel (.xlsx) sheets into a staging table, every value as text like a CSV field.

openpyxl in read-only mode, not python-calamine: it parses the sheet's XML as a
stream, so memory stays bounded whatever the sheet's size (calamine loads the
whole sheet into memory first), and it keeps integers written as integers
(calamine hands every number back as a float). Rows go to DuckDB in batches.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from personify.engine import DuckDBEngine
from personify.errors import SourceError

BATCH_ROWS = 10_000


def cell_text(value: Any) -> str | None:
    """A cell as the text a CSV export would hold."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        # Excel stores every number as a float: 42.0 was written as 42.
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


def stage_xlsx_file(
    engine: DuckDBEngine, path: Path, name: str, *, sheet: str | None = None
) -> tuple[str, list[str], str]:
    """Stage one sheet: (table with fields + _row + _line, field names, rejects table)."""
    import openpyxl  # a runtime dependency, imported only when a workbook is read

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise SourceError(f"{path.name}: not a readable .xlsx workbook ({exc})") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise SourceError(
                f"{path.name}: no sheet named '{sheet}' (its sheets: {book.sheetnames})"
            )
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        ws.reset_dimensions()  # exporters often write wrong dimensions; read what is there
        rows = _numbered_rows(ws.iter_rows(values_only=True))
        header = next(rows, None)
        if header is None:
            raise SourceError(f"{path.name}: the sheet is empty (no header row)")
        fields = _names(header[1])
        return _load(engine, name, fields, rows)
    finally:
        book.close()


def _numbered_rows(rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[int, list[str | None]]]:
    """Non-empty rows with their row number in the sheet (from 1)."""
    for number, values in enumerate(rows, start=1):
        texts = [cell_text(v) for v in values]
        if any(t is not None and t.strip() for t in texts):
            yield number, texts


def _names(header: list[str | None]) -> list[str]:
    while header and header[-1] is None:
        header = header[:-1]
    names: list[str] = []
    for i, raw in enumerate(header, start=1):
        base = (raw or "").strip() or f"column{i}"
        name, n = base, 0
        while name in names or name in ("_row", "_line", "_file"):
            n += 1
            name = f"{base}_{n}"
        names.append(name)
    return names


def _load(
    engine: DuckDBEngine,
    name: str,
    fields: list[str],
    rows: Iterator[tuple[int, list[str | None]]],
) -> tuple[str, list[str], str]:
    table, rejects = f"_xstage_{name}", f"_xrej_{name}"
    cols = ", ".join(f'"{f.replace(chr(34), chr(34) * 2)}" VARCHAR' for f in fields)
    engine.sql(f"CREATE OR REPLACE TEMP TABLE {table} ({cols}, _row BIGINT, _line BIGINT)")
    engine.sql(
        f"CREATE OR REPLACE TEMP TABLE {rejects} (line BIGINT, reason VARCHAR, text VARCHAR)"
    )
    width = len(fields)
    batch: list[list[str | None]] = []
    lines: list[int] = []
    record = 0
    for line, values in rows:
        extra = [v for v in values[width:] if v is not None]
        if extra:
            engine.sql(
                f"INSERT INTO {rejects} VALUES (?, ?, ?)",
                [
                    line,
                    f"TOO MANY COLUMNS: the header has {width}, this row has values beyond it",
                    "\t".join(v or "" for v in values),
                ],
            )
            continue
        record += 1
        batch.append(values[:width] + [None] * (width - len(values)))
        lines.append(line)
        if len(batch) >= BATCH_ROWS:
            _flush(engine, table, fields, batch, lines, record)
            batch, lines = [], []
    if batch:
        _flush(engine, table, fields, batch, lines, record)
    return table, fields, rejects


def _flush(
    engine: DuckDBEngine,
    table: str,
    fields: list[str],
    batch: list[list[str | None]],
    lines: list[int],
    last_record: int,
) -> None:
    first = last_record - len(batch) + 1
    columns = {f"c{i}": pa.array([r[i] for r in batch], pa.string()) for i in range(len(fields))}
    columns["_row"] = pa.array(range(first, last_record + 1), pa.int64())
    columns["_line"] = pa.array(lines, pa.int64())
    view = f"_batch_{table}"
    engine.con.register(view, pa.table(columns))
    try:
        engine.sql(f"INSERT INTO {table} SELECT * FROM {view}")
    finally:
        engine.con.unregister(view)
