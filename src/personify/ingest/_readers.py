"""Read a source file into a staging table, row by row, losing nothing.

Each reader yields a staging table with the file's fields as text (CSV), native
types (Parquet) or one JSON document per row (JSON lines), plus ``_row`` (the
record's number in the file, from 1) and ``_line`` (its line, where the format
has lines). Rows the parser itself cannot split go to a rejects table instead
of being dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from personify.engine import DuckDBEngine


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Staged:
    table: str
    fields: list[str]  # the file's own field names (JSON lines: none, values come by path)
    rejects: str | None  # table of rows the parser rejected: line, reason, text
    json: bool = False


def stage_csv(engine: DuckDBEngine, path: Path, name: str) -> Staged:
    stage, err, scan = f"_stage_{name}", f"_rejects_{name}", f"_rejscan_{name}"
    engine.sql(
        f"""CREATE OR REPLACE TEMP TABLE {stage} AS
        SELECT *, row_number() OVER () AS _row
        FROM read_csv({quote_literal(str(path))}, header = true, all_varchar = true,
                      store_rejects = true, rejects_table = '{err}', rejects_scan = '{scan}')"""
    )
    fields = [r[0] for r in engine.sql(f"DESCRIBE {stage}").fetchall() if r[0] != "_row"]
    rejects = f"_rejected_{name}"
    engine.sql(
        f"""CREATE OR REPLACE TEMP TABLE {rejects} AS
        SELECT line, string_agg(error_type || ': ' || error_message, '; ') AS reason,
               any_value(csv_line) AS text
        FROM {err} GROUP BY line"""
    )
    # The parser numbers good rows without the rejected lines in between; put the
    # file's line numbers back so a user can find any row in an editor.
    engine.sql(
        f"""CREATE OR REPLACE TEMP TABLE {stage}_lined AS
        WITH r AS (SELECT line, row_number() OVER (ORDER BY line) AS j FROM {rejects})
        SELECT s.*, s._row + 1 + (SELECT count(*) FROM r WHERE r.line - r.j - 1 < s._row)
               AS _line
        FROM {stage} s"""
    )
    engine.sql(f"DROP TABLE {stage}; DROP TABLE {err}; DROP TABLE {scan}")
    return Staged(f"{stage}_lined", fields, rejects)


def stage_parquet(engine: DuckDBEngine, path: Path, name: str) -> Staged:
    stage = f"_stage_{name}"
    engine.sql(
        f"""CREATE OR REPLACE TEMP TABLE {stage} AS
        SELECT *, row_number() OVER () AS _row, NULL::BIGINT AS _line
        FROM read_parquet({quote_literal(str(path))})"""
    )
    fields = [
        r[0] for r in engine.sql(f"DESCRIBE {stage}").fetchall() if r[0] not in ("_row", "_line")
    ]
    return Staged(stage, fields, None)


def stage_jsonl(engine: DuckDBEngine, path: Path, name: str) -> Staged:
    stage, rejects = f"_stage_{name}", f"_rejected_{name}"
    # Read whole lines as text first, so a malformed line is quarantined with its
    # number instead of failing (or being silently skipped by) the JSON reader.
    engine.sql(
        f"""CREATE OR REPLACE TEMP TABLE _lines_{name} AS
        SELECT line AS _json, row_number() OVER () AS _line
        FROM read_csv({quote_literal(str(path))}, columns = {{'line': 'VARCHAR'}},
                      header = false, delim = chr(1), quote = '', escape = '',
                      auto_detect = false, strict_mode = false)"""
    )
    engine.sql(
        f"""CREATE OR REPLACE TEMP TABLE {rejects} AS
        SELECT _line AS line, 'not a valid JSON object' AS reason, _json AS text
        FROM _lines_{name}
        WHERE _json IS NOT NULL AND trim(_json) <> ''
          AND NOT coalesce(json_valid(_json) AND starts_with(ltrim(_json), '{{'), false)"""
    )
    engine.sql(
        f"""CREATE OR REPLACE TEMP TABLE {stage} AS
        SELECT _json, _line, row_number() OVER (ORDER BY _line) AS _row
        FROM _lines_{name}
        WHERE _json IS NOT NULL AND trim(_json) <> ''
          AND coalesce(json_valid(_json) AND starts_with(ltrim(_json), '{{'), false)"""
    )
    engine.sql(f"DROP TABLE _lines_{name}")
    return Staged(stage, [], rejects, json=True)


def json_path(dotted: str) -> str:
    return "$." + ".".join('"' + part.replace('"', '\\"') + '"' for part in dotted.split("."))


READERS = {"csv": stage_csv, "parquet": stage_parquet, "jsonl": stage_jsonl}
