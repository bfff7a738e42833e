"""The ingest stage: sources -> typed ``raw_<source>`` tables + ``quarantine``.

Every run is a batch with an id, recorded per source in ``load_batches``. A
batch is all or nothing: every source is read, checked and written inside one
transaction, so a missing file, a source with too many bad rows or a crash
leaves the workspace exactly as it was.

Loads are incremental. A source whose files and mapping are unchanged is
skipped; otherwise only rows whose content hash (``_row_hash``) is new are
checked and written: a row with the record id of a loaded one replaces it, the
others are appended. A changed mapping, a keyless source that lost rows, or
``full_refresh`` rebuilds the source from its files. Rows that fail a check go
to ``quarantine`` with the file, row, line, columns and reason, and the rest
loads.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from personify.config import ColumnSpec, SourceSpec
from personify.errors import SourceError
from personify.ingest._columns import (
    CompiledColumn,
    absent_column,
    compile_column,
    csv_typed_fields,
    register_checks,
)
from personify.ingest._incremental import drop_deleted_quarantine, drop_superseded_quarantine
from personify.ingest._publish import publish
from personify.ingest._readers import (
    Staged,
    json_path,
    quote_ident,
    quote_literal,
    resolve_paths,
    stage_files,
)
from personify.ingest.expressions import register_functions
from personify.ingest.kinds import KINDS, PERSONAL_COLUMNS, effective_columns
from personify.progress import ProgressFn, no_progress

if TYPE_CHECKING:
    from personify.engine import DuckDBEngine
    from personify.workspace import Workspace

log = logging.getLogger(__name__)

# Where a row is (file, record, line), usable in expressions (an export without record ids
# can number its records by line: `order_id: {expr: "'L' || _line"}`).
ROW_FIELDS = ("_file", "_row", "_line")

QUARANTINE_COLUMNS = {
    "source": "VARCHAR",
    "file": "VARCHAR",
    "batch_id": "VARCHAR",
    "loaded_at": "TIMESTAMP",
    "row": "BIGINT",
    "line": "BIGINT",
    "columns": "VARCHAR",
    "reason": "VARCHAR",
    "record": "VARCHAR",
    "row_hash": "UBIGINT",
}
BATCH_COLUMNS = {
    "batch_id": "VARCHAR",
    "loaded_at": "TIMESTAMP",
    "source": "VARCHAR",
    "file": "VARCHAR",
    "rows_loaded": "BIGINT",
    "rows_quarantined": "BIGINT",
    "seq": "BIGINT",
    "mode": "VARCHAR",
    "rows_replaced": "BIGINT",
    "rows_unchanged": "BIGINT",
    "fingerprint": "VARCHAR",
    "mapping": "VARCHAR",
    "watermark": "VARCHAR",
    "rows_deleted": "BIGINT",
}


@dataclass(frozen=True)
class SourceLoad:
    source: str
    file: str
    rows_loaded: int  # new rows written in this batch
    rows_quarantined: int  # new rows rejected in this batch
    examples: list[str] = field(default_factory=list)
    mode: str = "full"  # full | incremental | unchanged
    rows_replaced: int = 0  # loaded rows that replaced an older version (same record id)
    rows_unchanged: int = 0  # rows already in the workspace
    rows_deleted: int = 0  # loaded records no longer in the source (database sources)


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


@dataclass(frozen=True)
class _Previous:
    fingerprint: str | None
    mapping: str | None
    watermark: str | None


class Ingest:
    """Load every configured source (or the named ones) into the workspace."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def run(
        self,
        *,
        sources: list[str] | None = None,
        full_refresh: bool = False,
        progress: ProgressFn = no_progress,
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
        # Find every file first: a missing one fails the load before anything is written.
        paths, problems = {}, []
        for n in names:
            try:
                paths[n] = self.source_paths(n)
            except SourceError as exc:
                problems.append(str(exc))
        if problems:
            raise SourceError("\n".join(problems))

        events = [n for n in names if config.sources[n].kind == "events"]
        if events:  # a compaction of the event inbox that a crash interrupted
            from personify.events.compact import INBOX, recover

            if (self.workspace.path / INBOX).is_dir():
                recover(self.workspace.path / INBOX)
        engine = self.workspace.ingest_engine
        register_checks(engine)
        register_functions(engine)  # name parts of expr: columns
        batch_id = uuid.uuid4().hex[:12]
        loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        results = []
        with engine.transaction():
            _ensure_table(engine, "quarantine", QUARANTINE_COLUMNS)
            _ensure_table(engine, "load_batches", BATCH_COLUMNS)
            seq = int(engine.scalar("SELECT coalesce(max(seq), 0) + 1 FROM load_batches"))
            for i, name in enumerate(names):
                progress(f"load {name}", i / len(names))
                load, previous = _SourceLoader(
                    self.workspace, name, paths[name], batch_id, loaded_at
                ).load(full_refresh=full_refresh)
                results.append(load)
                engine.sql(
                    "INSERT INTO load_batches (batch_id, loaded_at, source, file, rows_loaded, "
                    "rows_quarantined, seq, mode, rows_replaced, rows_unchanged, fingerprint, "
                    "mapping, watermark, rows_deleted) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        batch_id,
                        loaded_at,
                        name,
                        load.file,
                        load.rows_loaded,
                        load.rows_quarantined,
                        seq,
                        load.mode,
                        load.rows_replaced,
                        load.rows_unchanged,
                        previous.fingerprint,
                        previous.mapping,
                        previous.watermark,
                        load.rows_deleted,
                    ],
                )
        progress("load", 1.0)
        if engine is not self.workspace.engine:  # a Spark workspace: hand the tables over
            progress("publish", 0.0)
            scratch = self.workspace.resolve(config.engine.temp_directory)
            publish(engine, self.workspace.engine, scratch)
            progress("publish", 1.0)
        for name in events:  # the batch is committed: merge the small inbox files it read
            from personify.events.compact import compact_after_load

            quarantined = [
                r[0]
                for r in engine.sql(
                    "SELECT DISTINCT file FROM quarantine WHERE source = ? AND file IS NOT NULL",
                    [name],
                ).fetchall()
            ]
            compact_after_load(self.workspace.path, paths[name], quarantined)
        return IngestResult(batch_id, results)

    def source_paths(self, name: str) -> list[Path]:
        """The files of a file source (a glob may match several); [] for a database source."""
        spec = self.workspace.config.sources[name]
        if spec.path is None:
            return []
        try:
            return resolve_paths(self.workspace.path, spec)
        except SourceError as exc:
            raise SourceError(f"source '{name}': {exc}") from None

    def changed_since(self, batch_id: str) -> dict[str, int]:
        """Rows each source gained or changed in the batches after ``batch_id``."""
        engine = self.workspace.ingest_engine
        seq = engine.scalar("SELECT max(seq) FROM load_batches WHERE batch_id = ?", [batch_id])
        if seq is None:
            raise SourceError(f"no load batch with id {batch_id!r}")
        later = [
            r[0]
            for r in engine.sql(
                "SELECT DISTINCT batch_id FROM load_batches WHERE seq > ?", [seq]
            ).fetchall()
        ]
        counts: dict[str, int] = {}
        have = set(engine.list_tables())
        for name in [n for n in self.workspace.config.sources if f"raw_{n}" in have]:
            counts[name] = (
                int(
                    engine.scalar(
                        f"SELECT count(*) FROM raw_{name} WHERE list_contains(?, _batch_id)",
                        [later],
                    )
                )
                if later
                else 0
            )
        return counts


class _SourceLoader:
    """One source's part of a batch."""

    def __init__(
        self,
        workspace: Workspace,
        name: str,
        paths: list[Path],
        batch_id: str,
        loaded_at: dt.datetime,
    ) -> None:
        self.workspace = workspace
        self.engine: DuckDBEngine = workspace.ingest_engine
        self.name = name
        self.spec: SourceSpec = workspace.config.sources[name]
        self.paths = paths
        self.batch_id = batch_id
        self.loaded_at = loaded_at
        self.raw = f"raw_{name}"
        self.shown_file = ", ".join(p.name for p in paths)
        if self.spec.database is not None:  # its URL without the password, and the table
            from personify.ingest._database import describe  # psycopg: only when used

            self.shown_file = describe(self.spec.database, name)
        self.partial_read = False  # a database read of only the rows changed since the last

    # -- the load ----------------------------------------------------------------------------
    def load(self, *, full_refresh: bool) -> tuple[SourceLoad, _Previous]:
        mapping = _mapping_hash(self.spec, self.workspace.config.locale.model_dump(mode="json"))
        fingerprint = _fingerprint(self.paths) if self.paths else None
        previous = self._previous()
        have_raw = self.engine.has_table(self.raw)
        same_mapping = have_raw and previous is not None and previous.mapping == mapping
        now = _Previous(fingerprint, mapping, None)
        if (
            not full_refresh
            and same_mapping
            and fingerprint is not None
            and previous is not None
            and previous.fingerprint == fingerprint
        ):
            rows = self.engine.count(self.raw)
            log.info("source %s: files unchanged since the last load", self.name)
            return SourceLoad(self.name, self.shown_file, 0, 0, [], "unchanged", 0, rows), now

        since = None
        if self.spec.database is not None and self.spec.database.updated_at:
            if not self._record_key_names():
                raise SourceError(
                    f"source '{self.name}': incremental loads (updated_at) replace changed "
                    f"records by their id and the {self.spec.kind} kind has none: set "
                    "'record_key' to the columns that identify a row"
                )
            if not full_refresh and same_mapping and previous is not None:
                since = previous.watermark
        self.partial_read = since is not None
        staged = self._stage(
            since, key_fields=self._key_fields() if self.partial_read else None, typed=True
        )
        if staged.watermark is not None:
            now = _Previous(fingerprint, mapping, str(staged.watermark))
        incremental = not full_refresh and same_mapping
        # A full load writes its rows straight into what becomes the raw table; an
        # incremental one first compares them with the loaded rows.
        checked = f"_checked_{self.name}" if incremental else f"_loading_{self.name}"
        # On an error the batch's transaction rolls back, and these tables with it.
        self._check(staged, into=checked, temp=incremental)
        if staged.typed and self.engine.scalar(
            f"SELECT count(*) FROM {checked} WHERE _problems <> ''"
        ):
            # Quarantine keeps and quotes rows as the file writes them, which a typed
            # read does not: a file with bad rows is loaded again from its text.
            log.info("source %s: bad rows; checking it again as text", self.name)
            self._drop_staged(staged)
            staged = self._stage(
                since, key_fields=self._key_fields() if self.partial_read else None
            )
            self._check(staged, into=checked, temp=incremental)
        if incremental and not self._same_columns(checked):
            # A newer version of the kind (the events kind's previous_id) or new file fields.
            log.info("source %s: its columns changed; rebuilding it", self.name)
            incremental = False
        if incremental and not self._can_append(checked):
            log.info("source %s: rows were removed or edited; rebuilding it", self.name)
            incremental = False
        load = self._write(staged, checked, incremental=incremental)
        self._drop_staged(staged)
        self.engine.sql(f"DROP TABLE IF EXISTS {checked}")
        return load, now

    def _drop_staged(self, staged: Staged) -> None:
        if staged.view:
            self.engine.sql(f"DROP VIEW IF EXISTS {staged.table}")
            for part in staged.under:  # "VIEW name" or "TABLE name"
                self.engine.sql(f"DROP {part.replace(' ', ' IF EXISTS ', 1)}")
        for tmp in (None if staged.view else staged.table, staged.rejects, staged.keys):
            if tmp:
                self.engine.sql(f"DROP TABLE IF EXISTS {tmp}")

    def _previous(self) -> _Previous | None:
        row = self.engine.sql(
            """SELECT fingerprint, mapping, watermark FROM load_batches
            WHERE source = ? AND mode <> 'failed' ORDER BY seq DESC LIMIT 1""",
            [self.name],
        ).fetchone()
        return _Previous(*row) if row else None

    def _stage(
        self, since: str | None = None, *, key_fields: list[str] | None = None, typed: bool = False
    ) -> Staged:
        """The source's rows in a staging table. ``typed``: let a CSV reader parse the
        fields it parses exactly as the checks would (a fast path; see ``_load_typed``)."""
        if self.spec.database is not None:
            from personify.ingest._database import stage_database

            return stage_database(
                self.engine, self.spec.database, self.name, since=since, key_fields=key_fields
            )
        fmt = self.spec.file_format
        path = self.paths[0] if len(self.paths) == 1 else self.spec.path
        types = None
        if typed and fmt == "csv":
            columns, _ = effective_columns(self.spec)
            types = csv_typed_fields(columns, self._expression_fields(columns))
        try:
            return stage_files(self.engine, self.spec, self.paths, self.name, csv_types=types)
        except Exception as exc:
            raise SourceError(
                f"source '{self.name}': cannot read {path} as {fmt}: {_first_line(exc)}"
            ) from exc

    @staticmethod
    def _expression_fields(columns: dict[str, ColumnSpec]) -> set[str]:
        from personify.ingest.expressions import referenced_columns

        return {f for c in columns.values() if c.expr for f in referenced_columns(c.expr)}

    # -- checking ----------------------------------------------------------------------------
    def _columns(self, staged: Staged) -> dict[str, CompiledColumn]:
        columns, declared = effective_columns(self.spec)
        fields = set(staged.fields)
        missing, compiled = [], {}
        today = dt.date.today()
        locale = self.workspace.config.locale
        # The staged fields' types: Parquet and databases deliver typed values.
        types = (
            {}
            if staged.json
            else {r[0]: r[1] for r in self.engine.sql(f"DESCRIBE {staged.table}").fetchall()}
        )
        for i, (col, cspec) in enumerate(columns.items()):
            raw = self._raw_sql(col, cspec, staged, fields)
            plain = cspec.expr is None and not staged.json
            if raw is None:
                if col in declared or cspec.required:
                    missing.append(cspec.source or col)
                # Not in the file: an empty column, with nothing to check.
                compiled[col] = absent_column(cspec)
                continue
            compiled[col] = compile_column(
                col,
                cspec,
                raw,
                raw_ref=f"__r{i}",
                text_ref=f"__t{i}",
                value_ref=f"__v{i}",
                native=types.get(cspec.source or col) if plain else None,
                personal=col in PERSONAL_COLUMNS or bool(cspec.key),
                locale=locale,
                today=today,
            )
        if missing:
            hints = []
            for m in missing:
                close = difflib.get_close_matches(m, staged.fields, n=1, cutoff=0.6)
                hints.append(f"'{m}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
            raise SourceError(
                f"source '{self.name}': {self.shown_file} has no column {', '.join(hints)}; "
                f"its columns are: {', '.join(staged.fields)}"
            )
        return compiled

    def _raw_sql(self, col: str, cspec: ColumnSpec, staged: Staged, fields: set[str]) -> str | None:
        """SQL reading the column's raw value from the staged row; None if the file lacks it."""
        if cspec.expr is not None:
            from personify.ingest.expressions import ExpressionError, compile_expression

            def resolve(name: str) -> str:
                if name in ROW_FIELDS:
                    return name
                if staged.json:
                    return f"json_extract_string(_json, {quote_literal(json_path(name))})"
                if name not in fields:
                    raise KeyError(name)
                return quote_ident(name)

            try:
                return compile_expression(
                    cspec.expr, resolve, known_columns=[*staged.fields, *ROW_FIELDS]
                )
            except ExpressionError as exc:
                raise SourceError(f"source '{self.name}', column '{col}': {exc}") from exc
        src = cspec.source or col
        if staged.json:
            return f"json_extract_string(_json, {quote_literal(json_path(src))})"
        return quote_ident(src) if src in fields else None

    def _check(self, staged: Staged, *, into: str, temp: bool) -> None:
        """Write the typed rows into ``into``: the raw table's columns, then ``_line``,
        ``_problems`` ('' when good) and ``_failing`` (the columns that failed).

        One statement, four nested steps (raw value, text, typed value, check), so each
        is computed once per row (a JSON path is extracted once, not once per use)."""
        compiled = self._columns(staged)
        used = {c.source or n for n, c in effective_columns(self.spec)[0].items()}
        # Columns no mapping uses are kept as they are, for later stages and users.
        extras = [quote_ident(f) for f in staged.fields if f not in used]
        inner_extras = list(extras)
        if staged.json:
            inner_extras.append("_json AS _record")
            extras.append("_record")
        refs = list(enumerate(compiled.items()))
        raws = ", ".join(f"{c.raw} AS __r{i}" for i, (_, c) in refs)
        texts = ", ".join(f"{c.text} AS __t{i}" for i, (_, c) in refs)
        values = ", ".join(f"{c.value} AS __v{i}" for i, (_, c) in refs)
        checks = ", ".join(f"{c.check} AS __c{i}" for i, (_, c) in refs)
        typed = [f"__v{i} AS {quote_ident(n)}" for i, (n, _) in refs]
        problems = ", ".join(f"__c{i}" for i, _ in refs)
        failing = ", ".join(
            f"CASE WHEN __c{i} IS NOT NULL THEN {quote_literal(n)} END" for i, (n, _) in refs
        )
        # The hash is of the row as it is in the file, so it does not depend on the mapping.
        row_hash = self.engine.row_hash(
            *(["_json"] if staged.json else [quote_ident(f) for f in staged.fields])
        )
        meta = (
            f"{quote_literal(self.name)} AS _source, "
            f"{quote_literal(self.batch_id)} AS _batch_id, "
            f"TIMESTAMP '{self.loaded_at}' AS _loaded_at"
        )
        self.engine.sql(
            f"""CREATE OR REPLACE {"TEMP " if temp else ""}TABLE {into} AS
            SELECT {", ".join(typed + extras)}, {meta}, _row_hash, _file, _row, _line,
                   concat_ws('; ', {problems}) AS _problems,
                   concat_ws(',', {failing}) AS _failing
            FROM (SELECT *, {checks}
                  FROM (SELECT *, {values}
                        FROM (SELECT *, {texts}
                              FROM (SELECT {", ".join([*inner_extras, "_file", "_row", "_line"])},
                                           {row_hash} AS _row_hash, {raws}
                                    FROM {staged.table}))))"""
        )
        key = self._record_key(compiled)
        if key:
            self._flag_duplicates(into, key)

    def _record_key(self, compiled: dict[str, CompiledColumn]) -> list[str]:
        """The columns identifying a record, checked against the mapped columns."""
        unknown = [k for k in self.spec.record_key or [] if k not in compiled]
        if unknown:
            raise SourceError(f"source '{self.name}': record_key names unknown column(s) {unknown}")
        return self._record_key_names()

    def _flag_duplicates(self, checked: str, key: list[str]) -> None:
        """A second good row with the same record id is a problem, not a silent overwrite."""
        cols = ", ".join(quote_ident(k) for k in key)
        shown = ", ".join(key)
        # Finding that there are none is a cheap aggregate; flagging them needs a window.
        dupes = self.engine.scalar(
            f"""SELECT count(*) FROM (SELECT 1 FROM {checked} WHERE _problems = ''
                GROUP BY {cols} HAVING count(*) > 1)"""
        )
        if not dupes:
            return
        where = "_file || ' ' || " if len(self.paths) > 1 else ""  # several files: say which
        self.engine.sql(
            f"""UPDATE {checked} c SET
                _problems = {quote_literal(f"{shown}: duplicate record id (first at ")}
                            || d.first_at || ')',
                _failing = {quote_literal(shown)}
            FROM (SELECT _file, _row,
                         first_value({where}'row ' || _row) OVER (
                             PARTITION BY {cols} ORDER BY _file, _row) AS first_at,
                         row_number() OVER (PARTITION BY {cols} ORDER BY _file, _row) AS nth
                  FROM {checked} WHERE _problems = '') d
            WHERE c._file = d._file AND c._row = d._row AND d.nth > 1"""
        )

    # -- writing -----------------------------------------------------------------------------
    def _same_columns(self, checked: str) -> bool:
        """The loaded table has the columns this load gives (an upgrade may add some)."""
        have = set(self.engine.columns(self.raw))
        given = set(self.engine.columns(checked)) - {"_line", "_problems", "_failing"}
        return have == given

    def _can_append(self, checked: str) -> bool:
        """Incremental loading keeps old rows: fine with a record id, or if none went missing."""
        if self._record_key_names():
            return True
        gone = self.engine.scalar(
            f"""SELECT count(*) FROM {self.raw} r
            WHERE NOT EXISTS (SELECT 1 FROM {checked} c WHERE c._row_hash = r._row_hash)"""
        )
        return int(gone) == 0

    def _key_fields(self) -> list[str]:
        """The source's own columns the record key is read from (an ``expr:`` reads several)."""
        from personify.ingest.expressions import ExpressionError, referenced_columns

        columns = effective_columns(self.spec)[0]
        fields: list[str] = []
        for key in self._record_key_names():
            spec = columns.get(key)
            if spec is None:
                continue  # an unknown record_key column: reported by _record_key
            try:
                used = referenced_columns(spec.expr) if spec.expr else [spec.source or key]
            except ExpressionError:
                continue  # reported, with its position, when the column is compiled
            if {"_row", "_line"} & set(used):
                raise SourceError(
                    f"source '{self.name}': record key '{key}' uses _row or _line, which a "
                    "database row does not keep from one read to the next; build it from "
                    "the row's columns"
                )
            fields += [f for f in used if f not in fields and f not in ROW_FIELDS]
        return fields

    def _delete_gone(self, staged: Staged) -> int:
        """Remove the loaded (and quarantined) records whose key the source no longer has."""
        if staged.keys is None:
            return 0
        engine = self.engine
        fields = self._key_fields()
        keys_staged = Staged(staged.keys, fields, None)
        columns = effective_columns(self.spec)[0]
        key = self._record_key_names()
        values, texts, raws = [], [], []
        for i, k in enumerate(key):
            raw = self._raw_sql(k, columns[k], keys_staged, set(fields)) or "NULL"
            compiled = compile_column(
                k,
                columns[k],
                raw,
                raw_ref=f"__r{i}",
                text_ref=f"__t{i}",
                value_ref=f"__v{i}",
                personal=k in PERSONAL_COLUMNS or bool(columns[k].key),
                locale=self.workspace.config.locale,
                today=dt.date.today(),
            )
            raws.append(f"{compiled.raw} AS __r{i}")
            texts.append(f"{compiled.text} AS __t{i}")
            values.append(f"{compiled.value} AS {quote_ident(k)}")
        current = f"_current_{self.name}"
        engine.sql(
            f"""CREATE OR REPLACE TEMP TABLE {current} AS
            SELECT DISTINCT {", ".join(values)}
            FROM (SELECT {", ".join(texts)} FROM (SELECT {", ".join(raws)} FROM {staged.keys}))"""
        )
        same = " AND ".join(
            f"r.{quote_ident(k)} IS NOT DISTINCT FROM c.{quote_ident(k)}" for k in key
        )
        before = engine.count(self.raw)
        engine.sql(
            f"""DELETE FROM {self.raw} r
            WHERE NOT EXISTS (SELECT 1 FROM {current} c WHERE {same})"""
        )
        engine.sql(f"DROP TABLE {current}")
        drop_deleted_quarantine(engine, self.name, staged.keys, fields)
        return before - engine.count(self.raw)

    def _record_key_names(self) -> list[str]:
        """``record_key:``, else the kind's record id when a record is one row."""
        kind = KINDS[self.spec.kind]
        if self.spec.record_key:
            return list(self.spec.record_key)
        return [kind.record_id] if kind.record_id and kind.rows_per_record == 1 else []

    def _write(self, staged: Staged, checked: str, *, incremental: bool) -> SourceLoad:
        engine = self.engine
        # What the raw table keeps of a checked row (by name: the columns are the same).
        keep = "* EXCLUDE (_line, _problems, _failing)"
        if incremental:
            # Only rows not seen before: not loaded, not already in quarantine.
            new = f"""(SELECT * FROM {checked} c
                WHERE NOT EXISTS (SELECT 1 FROM {self.raw} r WHERE r._row_hash = c._row_hash)
                  AND NOT EXISTS (SELECT 1 FROM quarantine q
                                  WHERE q.source = {quote_literal(self.name)}
                                    AND q.row_hash = c._row_hash))"""
            engine.sql(f"CREATE OR REPLACE TEMP TABLE _new_{self.name} AS SELECT * FROM {new}")
            new = f"_new_{self.name}"
        else:
            new = checked
        total_new = engine.count(new)
        bad = int(engine.scalar(f"SELECT count(*) FROM {new} WHERE _problems <> ''"))
        rejects = engine.count(staged.rejects) if staged.rejects and not incremental else 0
        if incremental and staged.rejects:
            rejects = int(
                engine.scalar(
                    f"""SELECT count(*) FROM {staged.rejects} j WHERE NOT EXISTS (
                        SELECT 1 FROM quarantine q
                        WHERE q.source = ? AND q.row_hash = {self.engine.row_hash("j.text")})""",
                    [self.name],
                )
            )
        bad_total = bad + rejects
        considered = total_new + rejects
        if considered == 0 and not incremental:
            raise SourceError(f"source '{self.name}': {self.shown_file} has no data rows")
        examples = self._examples(new, staged, incremental)
        if bad_total > self.spec.max_bad_fraction * max(considered, 1):
            listing = "\n  ".join(examples)
            raise SourceError(
                f"source '{self.name}': {bad_total} of {considered} rows of {self.shown_file} "
                f"are bad (more than max_bad_fraction={self.spec.max_bad_fraction}); nothing "
                f"was loaded. First problems:\n  {listing}"
            )
        replaced = 0
        if incremental:
            key = self._record_key_names()
            if key:
                on = " AND ".join(f"r.{quote_ident(k)} = n.{quote_ident(k)}" for k in key)
                replaced = int(
                    engine.scalar(
                        f"""SELECT count(*) FROM {self.raw} r WHERE EXISTS (
                            SELECT 1 FROM {new} n WHERE n._problems = '' AND {on})"""
                    )
                )
                engine.sql(
                    f"""DELETE FROM {self.raw} r WHERE EXISTS (
                        SELECT 1 FROM {new} n WHERE n._problems = '' AND {on})"""
                )
            engine.sql(
                f"""INSERT INTO {self.raw} BY NAME SELECT {keep} FROM {new}
                WHERE _problems = ''"""
            )
        else:
            engine.sql("DELETE FROM quarantine WHERE source = ?", [self.name])
        deleted = 0
        if self.partial_read:
            # Only changed rows were read: a quarantined record read again has a new version.
            drop_superseded_quarantine(engine, self.name, staged.table, self._key_fields(), checked)
            deleted = self._delete_gone(staged)
        elif incremental:  # (a full load has just emptied the source's quarantine)
            # Quarantined rows no longer in the file were fixed or removed there.
            rejected = staged.rejects or "(SELECT NULL AS text)"
            rejected_hash = self.engine.row_hash("j.text")
            engine.sql(
                f"""DELETE FROM quarantine q WHERE q.source = ? AND q.row_hash IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM {checked} c WHERE c._row_hash = q.row_hash)
                AND NOT EXISTS (SELECT 1 FROM {rejected} j WHERE {rejected_hash} = q.row_hash)""",
                [self.name],
            )
        self._quarantine(new, staged, incremental)
        if not incremental:
            self._replace_raw(checked, keep)
        loaded = total_new - bad
        unchanged = engine.count(checked) - total_new if incremental else 0
        if incremental:
            engine.sql(f"DROP TABLE IF EXISTS _new_{self.name}")
        for ex in examples:
            log.info("quarantined %s", ex)
        return SourceLoad(
            self.name,
            self.shown_file,
            loaded,
            bad_total,
            examples,
            "incremental" if incremental else "full",
            replaced,
            unchanged,
            deleted,
        )

    def _replace_raw(self, checked: str, keep: str) -> None:
        """The checked rows, less the quarantined ones, become the raw table."""
        engine = self.engine
        if checked.startswith("_loading_"):  # written in place: no copy
            engine.sql(f"DELETE FROM {checked} WHERE _problems <> ''")
            for col in ("_line", "_problems", "_failing"):
                engine.sql(f"ALTER TABLE {checked} DROP COLUMN {col}")
            engine.sql(f"DROP TABLE IF EXISTS {self.raw}")
            engine.sql(f"ALTER TABLE {checked} RENAME TO {self.raw}")
        else:  # an incremental load that turned out to need a rebuild
            engine.sql(
                f"""CREATE OR REPLACE TABLE {self.raw} AS SELECT {keep}
                FROM {checked} WHERE _problems = ''"""
            )

    def _quarantine(self, new: str, staged: Staged, incremental: bool) -> None:
        # The file comes from each row (``_file``): a glob's rows name their own file.
        source, batch = (
            quote_literal(self.name),
            f"{quote_literal(self.batch_id)}, TIMESTAMP '{self.loaded_at}'",
        )
        # Quarantine keeps the row as it was in the file, not the failed casts.
        if staged.json:
            record = "s._json"
        else:
            packed = ", ".join(f"{quote_ident(f)} := s.{quote_ident(f)}" for f in staged.fields)
            record = f"CAST(to_json(struct_pack({packed})) AS VARCHAR)"
        self.engine.sql(
            f"""INSERT INTO quarantine (source, file, batch_id, loaded_at, "row", line, columns,
                reason, record, row_hash)
            SELECT {source}, c._file, {batch}, c._row, c._line, c._failing, c._problems,
                   {record}, c._row_hash
            FROM {new} c JOIN {staged.table} s ON s._file = c._file AND s._row = c._row
            WHERE c._problems <> ''"""
        )
        if staged.rejects:
            seen = (
                f"""AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.source =
                {quote_literal(self.name)} AND q.row_hash = {self.engine.row_hash("j.text")})"""
                if incremental
                else ""
            )
            self.engine.sql(
                f"""INSERT INTO quarantine (source, file, batch_id, loaded_at, "row", line, columns,
                    reason, record, row_hash)
                SELECT {source}, file, {batch}, NULL, line, NULL, reason, text,
                       {self.engine.row_hash("text")}
                FROM {staged.rejects} j WHERE true {seen}"""
            )

    def _examples(self, new: str, staged: Staged, incremental: bool) -> list[str]:
        rows = self.engine.sql(
            f"""SELECT _file, _row, _line, _problems FROM {new} WHERE _problems <> ''
            ORDER BY _file, _row LIMIT 5"""
        ).fetchall()
        out = [
            f"{f} row {r}" + (f" (line {ln})" if ln is not None else "") + f": {p}"
            for f, r, ln, p in rows
        ]
        if staged.rejects and len(out) < 5 and not incremental:
            for file, line, reason in self.engine.sql(
                f"SELECT file, line, reason FROM {staged.rejects} "
                f"ORDER BY file, line LIMIT {5 - len(out)}"
            ).fetchall():
                out.append(f"{file} line {line}: {reason}")
        return out


def _ensure_table(engine: DuckDBEngine, name: str, columns: dict[str, str]) -> None:
    """Create the table, or add the columns an older workspace's table lacks."""
    engine.sql(
        f"CREATE TABLE IF NOT EXISTS {name} ("
        + ", ".join(f"{quote_ident(c)} {t}" for c, t in columns.items())
        + ")"
    )
    for c, t in columns.items():
        engine.sql(f"ALTER TABLE {name} ADD COLUMN IF NOT EXISTS {quote_ident(c)} {t}")


def _mapping_hash(spec: SourceSpec, locale: dict[str, Any]) -> str:
    """What the typed values depend on: the mapping and locale (not where the file lives)."""
    # How far back a database read looks changes which rows are read, not their values.
    exclude: dict[str, Any] = {"path": True, "max_bad_fraction": True, "database": {"lookback"}}
    data: dict[str, Any] = spec.model_dump(mode="json", exclude=exclude)
    data["locale"] = locale
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _fingerprint(paths: list[Path]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for p in paths:
        digest.update(p.name.encode() + b"\0")
        with p.open("rb") as f:
            while chunk := f.read(1 << 22):
                digest.update(chunk)
    return digest.hexdigest()


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
