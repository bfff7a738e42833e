"""Read a PostgreSQL table or query into a staging table, in bounded memory.

Rows come through a server-side (named) cursor, ``batch_rows`` at a time; each
batch becomes an Arrow table appended to the DuckDB staging table, so the
whole result never sits in Python. The staging table looks like the file
readers' (``_readers.Staged``): the columns as read, ``_row`` (1..n) and
``_line`` (NULL: a database row has no line).

With ``updated_at`` the read is incremental: only rows changed after ``since``
(the previous load's watermark) less ``lookback`` (rows committed late), in a
stable order (updated_at, then every column), and the new watermark is the
largest updated_at read. Such a read can also stage every record's key columns
(``key_fields``), in the same snapshot, so the loader can tell which records
were deleted.

We read with psycopg rather than DuckDB's postgres extension, which cannot be
downloaded where Personify may run (the extension is fetched at first use).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections.abc import Sequence
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from personify.config import DatabaseSpec
from personify.engine import DuckDBEngine
from personify.errors import SourceError
from personify.ingest._readers import Staged, quote_ident, quote_literal

# PostgreSQL type OIDs (fixed in pg_type.dat) read as they are; anything else is
# read as its text form (json, jsonb, arrays, enums, intervals, uuid, bytea, ...).
_BOOL, _INT2, _INT4, _INT8, _OID, _FLOAT4, _FLOAT8, _NUMERIC = 16, 21, 23, 20, 26, 700, 701, 1700
_TEXT, _VARCHAR, _BPCHAR, _NAME = 25, 1043, 1042, 19
_DATE, _TIME, _TIMESTAMP, _TIMESTAMPTZ = 1082, 1083, 1114, 1184
_ARROW_TYPES: dict[int, pa.DataType] = {
    _BOOL: pa.bool_(),
    _INT2: pa.int16(),
    _INT4: pa.int32(),
    _INT8: pa.int64(),
    _OID: pa.int64(),
    _FLOAT4: pa.float32(),
    _FLOAT8: pa.float64(),
    _DATE: pa.date32(),
    _TIME: pa.time64("us"),
    _TIMESTAMP: pa.timestamp("us"),
    _TIMESTAMPTZ: pa.timestamp("us"),  # as UTC wall time, like every timestamp in raw_*
}
# updated_at types a lookback (an interval) can be taken from.
_MOMENT_TYPES = {_DATE: "date", _TIMESTAMP: "timestamp", _TIMESTAMPTZ: "timestamptz"}
_MAX_DECIMAL_PRECISION = 38  # what Arrow's decimal128 (and DuckDB's DECIMAL) hold

_ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_url(url: str, name: str) -> str:
    """``${VAR}`` from the environment. By hand: os.path.expandvars also rewrites a bare
    ``$`` (passwords may hold one) and leaves unset variables silently in place."""

    def value(match: re.Match[str]) -> str:
        var = match.group(1)
        if var not in os.environ:
            raise SourceError(
                f"source '{name}': database url uses ${{{var}}} but that environment "
                "variable is not set"
            )
        return os.environ[var]

    return _ENV_VAR.sub(value, url)


def display_url(url: str) -> str:
    """The URL without its password (and without options that might carry one)."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error:
        return "postgresql://<unparsable url>"
    user = f"{params['user']}@" if params.get("user") else ""
    port = f":{params['port']}" if params.get("port") else ""
    return f"postgresql://{user}{params.get('host', '')}{port}/{params.get('dbname', '')}"


def describe(spec: DatabaseSpec, name: str) -> str:
    """How a database source is named in messages and ``load_batches.file``.

    A query is named by a short hash of its text, so an edited query is a new
    origin (its old watermark no longer applies).
    """
    try:
        where = display_url(expand_url(spec.url, name))
    except SourceError:
        where = display_url(spec.url)
    what = spec.table or "query#" + hashlib.sha256((spec.query or "").encode()).hexdigest()[:10]
    return f"{where} {what}"


def stage_database(
    engine: DuckDBEngine,
    spec: DatabaseSpec,
    name: str,
    *,
    since: object | None = None,
    key_fields: list[str] | None = None,
) -> Staged:
    url = expand_url(spec.url, name)
    shown = display_url(url)
    password = _password(url)

    def fail(what: str, exc: BaseException) -> SourceError:
        detail = _error_text(exc)
        if password:
            detail = detail.replace(str(password), "***")
        return SourceError(f"source '{name}': {what}: {detail}")

    try:
        con = psycopg.connect(url, connect_timeout=10, application_name="personify")
    except psycopg.Error as exc:
        raise fail(f"cannot connect to {shown}", exc) from None
    try:
        con.read_only = True  # a query is only ever read: no function in it can write
        # The changed rows and the keys come from one snapshot: a row added or deleted
        # between two reads would otherwise be loaded and then taken for deleted.
        con.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        origin = _origin(con, spec)
        try:
            columns = _describe_columns(con, origin)
        except psycopg.errors.SyntaxError as exc:
            hint = " (read as a subquery: it must be one SELECT)" if spec.query else ""
            raise fail(f"cannot read {_what(spec)}{hint} from {shown}", exc) from None
        except psycopg.Error as exc:
            raise fail(f"cannot read {_what(spec)} from {shown}", exc) from None
        _check_columns(columns, spec, name)
        select, params = _select(con, origin, columns, spec, since)
        stage = f"_stage_{name}"
        schema = pa.schema([(c.name, _arrow_type(c)) for c in columns])
        _create_stage(engine, stage, schema)
        label = describe(spec, name)
        keys = None
        try:
            top = _stream(con, engine, stage, select, params, schema, spec, label)
            if key_fields is not None:
                keys = _stage_keys(con, engine, origin, columns, key_fields, spec, name, label)
            con.rollback()
        except psycopg.Error as exc:
            raise fail(f"reading {_what(spec)} from {shown} failed", exc) from None
    finally:
        con.close()
    # Nothing changed (or only rows below it, read again): the next load starts from the
    # same point.
    watermark = since
    if top is not None and (since is None or not _before(top, since)):
        watermark = _watermark_text(top, columns, spec)
    fields = [c.name for c in columns]
    return Staged(stage, fields, None, files=[describe(spec, name)], watermark=watermark, keys=keys)


def _stage_keys(
    con: psycopg.Connection[Any],
    engine: DuckDBEngine,
    origin: str,
    columns: Sequence[Any],
    key_fields: list[str],
    spec: DatabaseSpec,
    name: str,
    label: str,
) -> str | None:
    """Every row's ``key_fields`` only, streamed like the rows; None if one is missing
    (the loader then reports the missing column)."""
    wanted = [c for c in columns if c.name in key_fields]
    if len(wanted) != len(set(key_fields)):
        return None
    items = ", ".join(_select_item(c) for c in wanted)
    select = f"SELECT {items} FROM {origin} AS _q"
    table = f"_keys_{name}"
    schema = pa.schema([(c.name, _arrow_type(c)) for c in wanted])
    _create_stage(engine, table, schema)
    _stream(con, engine, table, select, [], schema, spec, label, track_updated_at=False)
    return table


def _password(url: str) -> str | None:
    try:
        password = conninfo_to_dict(url).get("password")
    except psycopg.Error:
        return None
    return str(password) if password else None


def _what(spec: DatabaseSpec) -> str:
    return f"table {spec.table}" if spec.table else "the query"


def _error_text(exc: BaseException) -> str:
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    text = primary or str(exc)
    return " ".join(line.strip() for line in text.strip().splitlines() if line.strip())


def _origin(con: psycopg.Connection[Any], spec: DatabaseSpec) -> str:
    """The FROM item: a quoted (schema.)table, or the user's query as a subquery."""
    if spec.table:
        parts = spec.table.split(".")
        return sql.Identifier(*parts).as_string(con)
    # The newline before ')' keeps a trailing '-- comment' from swallowing it.
    query = spec.query.strip().rstrip(";").strip() if spec.query else ""
    return f"(\n{query}\n)"


def _describe_columns(con: psycopg.Connection[Any], origin: str) -> Sequence[Any]:
    with con.cursor() as cur:
        # '%' in a user's query is not a placeholder: no parameters are passed here.
        cur.execute(f"SELECT * FROM {origin} AS _q LIMIT 0")
        description = cur.description or []
    con.rollback()
    return description


def _check_columns(columns: Sequence[Any], spec: DatabaseSpec, name: str) -> None:
    names = [c.name for c in columns]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise SourceError(
            f"source '{name}': {_what(spec)} returns column(s) {twice} more than once; "
            "give each column its own name (AS ...)"
        )
    reserved = sorted({"_file", "_row", "_line"} & set(names))
    if reserved:
        raise SourceError(f"source '{name}': column(s) {reserved} are reserved; rename them")
    if spec.updated_at and spec.updated_at not in names:
        raise SourceError(
            f"source '{name}': {_what(spec)} has no column '{spec.updated_at}' "
            f"(updated_at); its columns: {names}"
        )


def _arrow_type(column: Any) -> pa.DataType:
    if column.type_code == _NUMERIC:
        precision, scale = column.precision, column.scale
        if precision and precision <= _MAX_DECIMAL_PRECISION and scale is not None:
            return pa.decimal128(precision, scale)
        return pa.float64()  # unconstrained numeric: any size, read as double
    return _ARROW_TYPES.get(column.type_code, pa.string())


def _select_item(column: Any) -> str:
    ident = quote_ident(column.name)  # PostgreSQL quotes identifiers like DuckDB
    code = column.type_code
    if code == _TIMESTAMPTZ:
        return f"({ident} AT TIME ZONE 'UTC') AS {ident}"
    if code == _NUMERIC and pa.types.is_floating(_arrow_type(column)):
        return f"{ident}::float8 AS {ident}"
    if code in _ARROW_TYPES or code == _NUMERIC or code in (_TEXT, _VARCHAR, _BPCHAR, _NAME):
        return ident
    return f"{ident}::text AS {ident}"


def _select(
    con: psycopg.Connection[Any],
    origin: str,
    columns: Sequence[Any],
    spec: DatabaseSpec,
    since: object | None,
) -> tuple[str, list[object]]:
    items = ", ".join(_select_item(c) for c in columns)
    query = f"SELECT {items} FROM {origin} AS _q"
    params: list[object] = []
    if spec.updated_at:
        updated = quote_ident(spec.updated_at)
        if since is not None:
            if spec.query:  # a literal '%' in the user's query, not a placeholder
                query = query.replace("%", "%%")
            (code,) = [c.type_code for c in columns if c.name == spec.updated_at]
            moment = _MOMENT_TYPES.get(code)
            if moment and spec.lookback:
                # From a little before the watermark: rows committed after the last load
                # by a transaction that began before it (a date steps back to the day
                # before, so rows of the watermark's own day are read again).
                query += f" WHERE _q.{updated} > CAST(%s AS {moment}) - %s"
                params += [str(since), spec.lookback]
            else:
                # A bound text parameter: PostgreSQL casts it to the column's own type.
                query += f" WHERE _q.{updated} > %s"
                params.append(str(since))
        position = [c.name for c in columns].index(spec.updated_at) + 1
        others = [str(i) for i in range(1, len(columns) + 1) if i != position]
        query += " ORDER BY " + ", ".join([f"{position} NULLS FIRST", *others])
    return query, params


def _create_stage(engine: DuckDBEngine, stage: str, schema: pa.Schema) -> None:
    # A plain statement first: it also ends any result left pending on the connection,
    # which registering a Python object would refuse.
    engine.sql(f"DROP TABLE IF EXISTS {stage}")
    empty = schema.empty_table()
    engine.con.register("_stage_schema", empty)
    try:
        engine.sql(
            f"""CREATE OR REPLACE TEMP TABLE {stage} AS
            SELECT *, NULL::VARCHAR AS _file, NULL::BIGINT AS _row, NULL::BIGINT AS _line
            FROM _stage_schema LIMIT 0"""
        )
    finally:
        engine.con.unregister("_stage_schema")


def _stream(
    con: psycopg.Connection[Any],
    engine: DuckDBEngine,
    stage: str,
    select: str,
    params: list[object],
    schema: pa.Schema,
    spec: DatabaseSpec,
    label: str,
    *,
    track_updated_at: bool = True,
) -> object | None:
    """Append the rows batch by batch; return the largest updated_at read."""
    rows_done = 0
    watermark: Any = None
    updated_at = spec.updated_at if track_updated_at else None
    with con.cursor(name=f"personify_read_{stage}") as cur:
        cur.itersize = spec.batch_rows
        cur.execute(select, params or None)
        while True:
            rows = cur.fetchmany(spec.batch_rows)
            if not rows:
                break
            batch = _to_arrow(rows, schema, rows_done)
            if updated_at:
                top = pc.max(batch.column(updated_at)).as_py()
                if top is not None and (watermark is None or top > watermark):
                    watermark = top
            view = f"_batch_{stage}"
            engine.con.register(view, batch)
            try:
                engine.sql(
                    f"INSERT INTO {stage} BY NAME SELECT *, {quote_literal(label)} AS _file "
                    f"FROM {view}"
                )
            finally:
                engine.con.unregister(view)
            rows_done += len(rows)
    return watermark


def _to_arrow(rows: list[tuple[Any, ...]], schema: pa.Schema, first_row: int) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
    arrays = [
        pa.array(_decimals_or_none(values, field.type), type=field.type)
        for values, field in zip(columns, schema, strict=True)
    ]
    arrays.append(pa.array(range(first_row + 1, first_row + len(rows) + 1), type=pa.int64()))
    arrays.append(pa.nulls(len(rows), type=pa.int64()))
    return pa.Table.from_arrays(arrays, names=[*schema.names, "_row", "_line"])


def _decimals_or_none(values: Sequence[Any], arrow_type: pa.DataType) -> Sequence[Any]:
    # numeric(p, s) may still hold NaN / Infinity, which no decimal type can: read as NULL.
    if pa.types.is_decimal(arrow_type):
        return [v if v is None or v.is_finite() else None for v in values]
    return values


def _before(top: Any, since: object) -> bool:
    """Whether the newest value read is older than the previous watermark (only rows
    within the lookback were read): the watermark then stays where it was."""
    try:
        if isinstance(top, dt.datetime):
            mark = dt.datetime.fromisoformat(str(since))
            if mark.tzinfo is not None:  # timestamptz marks are UTC, like the values read
                mark = mark.astimezone(dt.UTC).replace(tzinfo=None)
            return bool(top < mark)
        if isinstance(top, dt.date):
            return bool(top < dt.date.fromisoformat(str(since)))
    except ValueError:
        return False
    return False  # read without a lookback: every value is above the watermark


def _watermark_text(value: Any, columns: Sequence[Any], spec: DatabaseSpec) -> str:
    """Text PostgreSQL casts back to the column's own type, losing nothing."""
    if isinstance(value, dt.datetime):
        (code,) = [c.type_code for c in columns if c.name == spec.updated_at]
        # timestamptz was read as UTC wall time: say so, or the server's zone would apply.
        return value.isoformat() + ("+00:00" if code == _TIMESTAMPTZ else "")
    return str(value)
