"""The ingest stage: source files -> typed ``raw_<source>`` tables + ``quarantine``.

A load is all or nothing: every source is read, checked and written inside one
transaction, so a missing file or a source with too many bad rows leaves the
workspace exactly as it was. Rows that fail a check are not dropped: they go
to ``quarantine`` with the file, row, line and the reason.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from personify.config import ColumnSpec, SourceSpec
from personify.errors import SourceError
from personify.ingest._readers import READERS, Staged, json_path, quote_ident, quote_literal
from personify.ingest.kinds import PERSONAL_COLUMNS, effective_columns
from personify.progress import ProgressFn, no_progress

if TYPE_CHECKING:
    from personify.workspace import Workspace

log = logging.getLogger(__name__)

SQL_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}

QUARANTINE_DDL = """CREATE TABLE IF NOT EXISTS quarantine (
    source VARCHAR, file VARCHAR, batch_id VARCHAR, loaded_at TIMESTAMP,
    "row" BIGINT, line BIGINT, reason VARCHAR, record VARCHAR)"""


@dataclass(frozen=True)
class SourceLoad:
    source: str
    file: str
    rows_loaded: int
    rows_quarantined: int
    examples: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class IngestResult:
    batch_id: str
    sources: list[SourceLoad]

    @property
    def rows_loaded(self) -> int:
        return sum(s.rows_loaded for s in self.sources)

    @property
    def rows_quarantined(self) -> int:
        return sum(s.rows_quarantined for s in self.sources)


class Ingest:
    """Load every configured source (or the named ones) into the workspace."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def run(
        self, *, sources: list[str] | None = None, progress: ProgressFn = no_progress
    ) -> IngestResult:
        config = self.workspace.config
        names = sources or list(config.sources)
        unknown = [n for n in names if n not in config.sources]
        if unknown:
            raise SourceError(
                f"no source named {unknown} in personify.yaml (known: {list(config.sources)})"
            )
        if not names:
            raise SourceError("personify.yaml defines no sources: add some under 'sources:'")
        # Check every file first: a missing file fails the load before anything is written.
        paths = {n: self.workspace.resolve(config.sources[n].path) for n in names}
        missing = [
            f"source '{n}': file not found: {p}" for n, p in paths.items() if not p.is_file()
        ]
        if missing:
            raise SourceError("\n".join(missing))

        engine = self.workspace.engine
        batch_id = uuid.uuid4().hex[:12]
        loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        results = []
        with engine.transaction():
            engine.sql(QUARANTINE_DDL)
            for i, name in enumerate(names):
                progress(f"load {name}", i / len(names))
                results.append(
                    self._load_one(name, config.sources[name], paths[name], batch_id, loaded_at)
                )
            engine.sql(
                """CREATE TABLE IF NOT EXISTS load_batches (batch_id VARCHAR,
                loaded_at TIMESTAMP, source VARCHAR, file VARCHAR, rows_loaded BIGINT,
                rows_quarantined BIGINT)"""
            )
            for r in results:
                engine.sql(
                    "INSERT INTO load_batches VALUES (?, ?, ?, ?, ?, ?)",
                    [batch_id, loaded_at, r.source, r.file, r.rows_loaded, r.rows_quarantined],
                )
        progress("load", 1.0)
        return IngestResult(batch_id, results)

    def _load_one(
        self, name: str, spec: SourceSpec, path: Path, batch_id: str, loaded_at: dt.datetime
    ) -> SourceLoad:
        engine = self.workspace.engine
        fmt = spec.file_format
        try:
            staged = READERS[fmt](engine, path, name)
        except Exception as exc:
            raise SourceError(f"source '{name}': cannot read {path} as {fmt}: {exc}") from exc

        columns, declared = effective_columns(spec)
        value_sql, missing = _value_expressions(columns, declared, staged)
        if missing:
            raise SourceError(
                f"source '{name}': {path.name} has no column(s) {missing} "
                f"(its columns: {staged.fields})"
            )
        checks, typed = [], []
        for col, (expr, cspec) in value_sql.items():
            text = f"NULLIF(trim(CAST({expr} AS VARCHAR)), '')"
            sql_type = SQL_TYPES[cspec.type]
            value = text if cspec.type == "string" else f"TRY_CAST({text} AS {sql_type})"
            typed.append(f"{value} AS {quote_ident(col)}")
            missing_msg = quote_literal(f"{col}: required value is missing")
            if col in PERSONAL_COLUMNS:
                # Messages reach logs and terminals: a personal value stays in quarantine.
                bad_msg = quote_literal(f"{col}: expected {cspec.type} (value kept in quarantine)")
            else:
                bad_msg = (
                    f"'{col}: expected {cspec.type}, got ' || '''' || left({text}, 60) || ''''"
                )
            checks.append(
                f"CASE WHEN {text} IS NULL THEN {missing_msg if cspec.required else 'NULL'} "
                f"WHEN {value} IS NULL THEN {bad_msg} END"
            )
        # Columns the kind does not know are kept as they are, for later stages and users.
        extras = [quote_ident(f) for f in staged.fields if f not in _used_fields(value_sql)]
        if staged.json:
            extras.append("_json AS _record")
        checked = f"_checked_{name}"
        engine.sql(
            f"""CREATE OR REPLACE TEMP TABLE {checked} AS
            SELECT {", ".join(typed + extras)}, _row, _line,
                   concat_ws('; ', {", ".join(checks)}) AS _problems
            FROM {staged.table}"""
        )
        out_cols = [quote_ident(c) for c in value_sql] + [e.split(" AS ")[-1] for e in extras]
        hash_cols = ", ".join(f"CAST({c} AS VARCHAR)" for c in out_cols)
        raw = f"raw_{name}"
        engine.sql(
            f"""CREATE OR REPLACE TABLE {raw} AS
            SELECT {", ".join(out_cols)},
                   {quote_literal(name)} AS _source, TIMESTAMP '{loaded_at}' AS _loaded_at,
                   {quote_literal(batch_id)} AS _batch_id,
                   md5(concat_ws(chr(31), {hash_cols})) AS _row_hash, _row
            FROM {checked} WHERE _problems = '' ORDER BY _row"""
        )
        engine.sql("DELETE FROM quarantine WHERE source = ?", [name])
        head = f"{quote_literal(name)}, {quote_literal(path.name)}, {quote_literal(batch_id)}, "
        head += f"TIMESTAMP '{loaded_at}'"
        # Quarantine keeps the row as it was in the file, not the failed casts.
        packed = ", ".join(f"{quote_ident(f)} := s.{quote_ident(f)}" for f in staged.fields)
        record = "s._json" if staged.json else f"CAST(to_json(struct_pack({packed})) AS VARCHAR)"
        engine.sql(
            f"""INSERT INTO quarantine SELECT {head}, c._row, c._line, c._problems, {record}
            FROM {checked} c JOIN {staged.table} s ON s._row = c._row
            WHERE c._problems <> ''"""
        )
        if staged.rejects:
            engine.sql(
                f"""INSERT INTO quarantine SELECT {head}, NULL, line, reason, text
                FROM {staged.rejects}"""
            )
        loaded = engine.sql(f"SELECT count(*) FROM {raw}").fetchone()[0]
        bad_rows = engine.sql(
            """SELECT coalesce('row ' || "row", '') || coalesce(' (line ' || line || ')', '')
                      || ': ' || reason
               FROM quarantine WHERE source = ? ORDER BY line, "row" """,
            [name],
        ).fetchall()
        for tmp in (staged.table, checked, staged.rejects):
            if tmp:
                engine.sql(f"DROP TABLE IF EXISTS {tmp}")
        total = loaded + len(bad_rows)
        examples = [f"{path.name} {r[0]}" for r in bad_rows[:5]]
        if total == 0:
            raise SourceError(f"source '{name}': {path} has no data rows")
        if len(bad_rows) > spec.max_bad_fraction * total:
            listing = "\n  ".join(examples)
            raise SourceError(
                f"source '{name}': {len(bad_rows)} of {total} rows of {path} are bad "
                f"(more than max_bad_fraction={spec.max_bad_fraction}); nothing was loaded. "
                f"First problems:\n  {listing}"
            )
        for ex in examples:
            log.info("quarantined %s", ex)
        return SourceLoad(name, str(path), loaded, len(bad_rows), examples)


def _value_expressions(
    columns: dict[str, ColumnSpec], declared: set[str], staged: Staged
) -> tuple[dict[str, tuple[str, ColumnSpec]], list[str]]:
    """SQL for each canonical column's raw value; and the declared columns the file lacks."""
    exprs: dict[str, tuple[str, ColumnSpec]] = {}
    missing = []
    fields = set(staged.fields)
    for col, spec in columns.items():
        src = spec.source or col
        if staged.json:
            exprs[col] = (f"json_extract_string(_json, {quote_literal(json_path(src))})", spec)
        elif src in fields:
            exprs[col] = (quote_ident(src), spec)
        elif col in declared or spec.required:
            missing.append(src)
        else:
            exprs[col] = ("NULL", spec)
    return exprs, missing


def _used_fields(value_sql: dict[str, tuple[str, ColumnSpec]]) -> set[str]:
    return {expr.strip('"').replace('""', '"') for expr, _ in value_sql.values()}
