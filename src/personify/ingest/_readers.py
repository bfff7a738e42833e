"""Read a source's files into one staging table, row by row, losing nothing.

``stage_files`` is the one entry point. Whatever the format, the staging table
has the files' fields (text for CSV and Excel, native types for Parquet, one
JSON document per row in ``_json`` for JSON and JSON lines) plus ``_file`` (the
file's name), ``_row`` (the record's number in its file, from 1) and ``_line``
(its line in the file; the row number in the sheet for Excel; NULL where the
format has no lines: Parquet, JSON arrays). Several files (a glob) stage into
the one table, fields unified by name, a field a file lacks NULL. Records the
parser cannot split go to a rejects table (file, line, reason, text) instead of
being dropped.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path

from personify.config import SourceSpec
from personify.engine import DuckDBEngine
from personify.errors import SourceError
from personify.ingest._csv import (
    CsvTables,
    drop_csv_tables,
    quote_ident,
    quote_literal,
    stage_csv_file,
)
from personify.ingest._xlsx import stage_xlsx_file

__all__ = [
    "Staged",
    "json_path",
    "quote_ident",
    "quote_literal",
    "resolve_paths",
    "stage_files",
]

META = ("_file", "_row", "_line")
GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class Staged:
    table: str
    fields: list[str]  # the files' own field names (JSON: none, values come by path)
    rejects: str | None  # rows the parser rejected: file, line, reason, text
    json: bool = False
    files: list[str] = field(default_factory=list)  # the ``_file`` names, in load order
    watermark: object | None = None  # database sources: the largest updated_at read
    view: bool = False  # ``table`` is a view (over the files, or over ``under``)
    typed: bool = False  # a CSV's fields partly parsed by the reader (``csv_types``)
    under: tuple[str, ...] = ()  # views, then tables, under the view: dropped after it
    # A partial database read: every record's key columns as the source holds them now
    # (same fields, _file, _row and _line), to find the records deleted there.
    keys: str | None = None


def resolve_paths(base_dir: Path, spec: SourceSpec) -> list[Path]:
    """The files of a source: its path, or every file its glob matches, sorted."""
    if spec.path is None:
        raise SourceError("the source has no 'path' (it reads a database)")
    pattern = Path(spec.path).expanduser()
    full = pattern if pattern.is_absolute() else base_dir / pattern
    if GLOB_CHARS & set(spec.path):
        found = sorted(Path(p) for p in glob.glob(str(full), recursive=True))
        files = [p for p in found if p.is_file()]
        if not files:
            raise SourceError(f"no file matches {full}")
        return files
    if not full.is_file():
        raise SourceError(f"file not found: {full}")
    return [full]


def stage_files(
    engine: DuckDBEngine,
    spec: SourceSpec,
    paths: list[Path],
    name: str,
    *,
    csv_types: dict[str, str] | None = None,
) -> Staged:
    """Stage every file of a source into one table (see the module doc).

    ``csv_types``: fields a CSV reader may parse itself (``csv_typed_fields``); a file
    with a value it cannot parse is staged as text."""
    fmt = spec.file_format
    labels = _labels(paths)
    if fmt == "parquet":
        return _stage_parquet(engine, paths, labels, name)
    stage, rejects = f"_stage_{name}", f"_rejected_{name}"
    # An earlier staging on this connection may have left a table or a view of this name.
    for kind in engine.sql(
        "SELECT table_type FROM information_schema.tables WHERE table_name = ?", [stage]
    ).fetchall():
        engine.sql(f"DROP {'VIEW' if kind[0] == 'VIEW' else 'TABLE'} {stage}")
    engine.sql(
        f"CREATE OR REPLACE TEMP TABLE {rejects} "
        "(file VARCHAR, line BIGINT, reason VARCHAR, text VARCHAR)"
    )
    fields: list[str] = []
    json = fmt in ("json", "jsonl")
    typed = False
    for i, (path, label) in enumerate(zip(paths, labels, strict=True)):
        part = f"{name}_{i}"
        try:
            # One file only: the files of a glob must all stage their fields alike.
            types = (csv_types or {}) if len(paths) == 1 else {}
            one = _stage_one(engine, spec, fmt, path, part, types)
        except SourceError as exc:
            raise SourceError(f"{label}: {exc}" if label not in str(exc) else str(exc)) from None
        engine.sql(
            f"INSERT INTO {rejects} SELECT {quote_literal(label)}, line, reason, text "
            f"FROM {one.rejects}"
        )
        fields += [f for f in one.fields if f not in fields]
        if len(paths) == 1 and one.under:
            # One CSV file, numbered by a view: the staging is a view too, nothing is copied.
            engine.sql(
                f"CREATE TEMP VIEW {stage} AS "
                f"SELECT *, {quote_literal(label)} AS _file FROM {one.table}"
            )
            engine.sql(f"DROP TABLE {one.rejects}")
            under = (f"VIEW {one.table}", f"TABLE {one.under}")
            return Staged(
                stage, fields, rejects, files=labels, view=True, under=under, typed=one.typed
            )
        _append(engine, stage, one.table, label, first=i == 0, view=one.under is not None)
        drop_csv_tables(engine, one)
        typed = one.typed
    return Staged(stage, [] if json else fields, rejects, json=json, files=labels, typed=typed)


def _labels(paths: list[Path]) -> list[str]:
    """What ``_file`` says: the file's name, or more of its path where names repeat."""
    names = [p.name for p in paths]
    if len(set(names)) == len(names):
        return names
    return [str(p) for p in paths]


def _stage_one(
    engine: DuckDBEngine, spec: SourceSpec, fmt: str, path: Path, part: str, types: dict[str, str]
) -> CsvTables:
    if fmt == "csv":
        return stage_csv_file(engine, path, part, spec.csv, types=types)
    if fmt == "jsonl":
        return CsvTables(*_stage_jsonl(engine, path, part))
    if fmt == "json":
        return CsvTables(*_stage_json(engine, path, part))
    if fmt == "xlsx":
        return CsvTables(*stage_xlsx_file(engine, path, part, sheet=spec.sheet))
    raise SourceError(f"cannot read files as '{fmt}'")


def _append(
    engine: DuckDBEngine, stage: str, table: str, label: str, *, first: bool, view: bool
) -> None:
    """Add one file's rows to the staging table, unifying the fields by name."""
    if first and view:  # a view cannot take more rows: copy it into a table
        engine.sql(
            f"CREATE TEMP TABLE {stage} AS SELECT *, {quote_literal(label)} AS _file FROM {table}"
        )
        return
    if first:
        # No copy: the first file's table becomes the staging table.
        engine.sql(
            f"ALTER TABLE {table} ADD COLUMN _file VARCHAR DEFAULT {quote_literal(label)}; "
            f"ALTER TABLE {table} RENAME TO {stage}"
        )
        return
    have = {r[0] for r in engine.sql(f"DESCRIBE {stage}").fetchall()}
    for col, col_type, *_ in engine.sql(f"DESCRIBE {table}").fetchall():
        if col not in have:
            engine.sql(f"ALTER TABLE {stage} ADD COLUMN {quote_ident(col)} {col_type}")
    engine.sql(
        f"INSERT INTO {stage} BY NAME SELECT *, {quote_literal(label)} AS _file FROM {table}"
    )


def _stage_parquet(engine: DuckDBEngine, paths: list[Path], labels: list[str], name: str) -> Staged:
    # A view, not a copy: Parquet is typed and numbers its rows, so the load reads
    # the files once, straight into the checks.
    stage = f"_stage_{name}"
    files = "[" + ", ".join(quote_literal(str(p)) for p in paths) + "]"
    by_path = " ".join(
        f"WHEN {quote_literal(str(p))} THEN {quote_literal(label)}"
        for p, label in zip(paths, labels, strict=True)
    )
    try:
        engine.sql(
            f"""CREATE OR REPLACE TEMP VIEW {stage} AS
            SELECT * EXCLUDE (filename, file_row_number),
                   CASE filename {by_path} END AS _file,
                   file_row_number + 1 AS _row, NULL::BIGINT AS _line
            FROM read_parquet({files}, union_by_name = true, filename = true,
                              file_row_number = true)"""
        )
    except Exception as exc:
        raise SourceError(f"cannot read as Parquet: {str(exc).splitlines()[0]}") from exc
    fields = [r[0] for r in engine.sql(f"DESCRIBE {stage}").fetchall() if r[0] not in META]
    return Staged(stage, fields, None, files=labels, view=True)


def _stage_jsonl(engine: DuckDBEngine, path: Path, part: str) -> tuple[str, list[str], str]:
    stage, rejects, lines = f"_jstage_{part}", f"_jrej_{part}", f"_jlines_{part}"
    # Read whole lines as text first, so a malformed line is rejected with its
    # number instead of failing (or being silently skipped by) the JSON reader.
    engine.sql(
        f"""CREATE OR REPLACE TEMP TABLE {lines} AS
        SELECT line AS _json, row_number() OVER () AS _line
        FROM read_csv({quote_literal(str(path))}, columns = {{'line': 'VARCHAR'}},
                      header = false, delim = chr(1), quote = '', escape = '',
                      auto_detect = false, strict_mode = false)"""
    )
    is_object = "coalesce(json_valid(_json) AND starts_with(ltrim(_json), '{'), false)"
    engine.sql(
        f"""CREATE OR REPLACE TEMP TABLE {rejects} AS
        SELECT _line AS line, 'not a valid JSON object' AS reason, _json AS text
        FROM {lines} WHERE _json IS NOT NULL AND trim(_json) <> '' AND NOT {is_object}"""
    )
    engine.sql(
        f"""CREATE OR REPLACE TEMP TABLE {stage} AS
        SELECT _json, row_number() OVER (ORDER BY _line) AS _row, _line
        FROM {lines} WHERE _json IS NOT NULL AND trim(_json) <> '' AND {is_object}"""
    )
    engine.sql(f"DROP TABLE {lines}")
    return stage, [], rejects


def _stage_json(engine: DuckDBEngine, path: Path, part: str) -> tuple[str, list[str], str]:
    """A .json file: an array of objects, or one object (or several, one after another)."""
    stage, rejects, docs = f"_jstage_{part}", f"_jrej_{part}", f"_jdocs_{part}"
    layout = "array" if _first_char(path) == "[" else "unstructured"
    try:
        engine.sql(
            f"""CREATE OR REPLACE TEMP TABLE {docs} AS
            SELECT CAST(json AS VARCHAR) AS _json, row_number() OVER () AS _n
            FROM read_json_objects({quote_literal(str(path))}, format = '{layout}')"""
        )
    except Exception as exc:
        raise SourceError(f"{path.name}: not valid JSON ({str(exc).splitlines()[0]})") from exc
    is_object = "json_type(_json) = 'OBJECT'"
    engine.sql(
        f"""CREATE OR REPLACE TEMP TABLE {rejects} AS
        SELECT NULL::BIGINT AS line,
               'element ' || _n || ' is not a JSON object' AS reason, _json AS text
        FROM {docs} WHERE NOT {is_object}"""
    )
    engine.sql(
        f"""CREATE OR REPLACE TEMP TABLE {stage} AS
        SELECT _json, row_number() OVER (ORDER BY _n) AS _row, NULL::BIGINT AS _line
        FROM {docs} WHERE {is_object}"""
    )
    engine.sql(f"DROP TABLE {docs}")
    return stage, [], rejects


def _first_char(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head[:1].decode("ascii", errors="replace")


def json_path(dotted: str) -> str:
    return "$." + ".".join('"' + part.replace('"', '\\"') + '"' for part in dotted.split("."))
