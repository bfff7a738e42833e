"""Spark engine: the same stages on Apache Spark (local mode or a cluster).

Statements arrive in DuckDB's dialect (the stages' portable subset) and are parsed by
sqlglot: queries are translated to Spark SQL, while table statements (CREATE, INSERT,
DELETE, DROP, ALTER ... RENAME, DESCRIBE) are carried out here on the engine's own
catalogue.

Tables are Parquet folders under ``path``, listed in one catalogue file
(``catalog.json``: table -> its Parquet folders), and each is a temp view of the
session. We keep our own catalogue rather than ``saveAsTable`` into a warehouse
because Spark's built-in catalogue forgets its tables between sessions without a Hive
metastore (Derby: one process at a time, jars and a metastore_db folder), and because
one small file replaced atomically gives what the stages need from a transaction:

- every write goes to a new folder (copy-on-write; an append adds a folder), so the
  tables a reader sees never change under it;
- committing rewrites ``catalog.json`` by an atomic rename: all tables of the
  transaction change together, or (on failure, or a crash before the rename) none does;
- a rollback forgets the new folders and restores the views.

Limits: one writer at a time (a second process writing to the same ``path`` loses the
other's commit); the atomic rename needs a POSIX file system (a local disk, or one
every node of a cluster mounts), not an object store; folders no catalogue names any
more are removed after the commit, so a reader in another process that opened the
workspace earlier may lose files under it.

Temp tables are local checkpoints (computed once, kept by the executors, spilling to
disk), not lazy views: a loop that rebuilds a temp table from itself (identity's
label propagation) would otherwise nest plans deeper every round.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from personify.engine._base import Engine
from personify.engine._splink import similarity_jar
from personify.errors import WorkspaceError

try:
    import sqlglot
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql import types as T
    from pyspark.sql.functions import pandas_udf
    from sqlglot import exp
except ImportError as exc:  # pragma: no cover - the message is the point
    raise WorkspaceError(
        "engine kind 'spark' needs PySpark and sqlglot: pip install 'personify[spark]' "
        f"(and Java 17 or later) ({exc})"
    ) from exc

log = logging.getLogger(__name__)

CATALOGUE = "catalog.json"
_SESSIONS: dict[str, SparkSession] = {}
_SESSION_LOCK = threading.Lock()

# DuckDB type names (as register_scalar_function and the stages write them) -> Spark's.
_TYPES: dict[str, T.DataType] = {
    "VARCHAR": T.StringType(),
    "TEXT": T.StringType(),
    "BOOLEAN": T.BooleanType(),
    "DOUBLE": T.DoubleType(),
    "BIGINT": T.LongType(),
    "INTEGER": T.IntegerType(),
    "DATE": T.DateType(),
    "TIMESTAMP": T.TimestampNTZType(),
}


def spark_session(master: str, *, local_dir: Path | None = None) -> SparkSession:
    """The process's Spark session for ``master`` (each engine takes a new session of it:
    its own temp views and functions, one JVM)."""
    with _SESSION_LOCK:
        if master not in _SESSIONS:
            # Python functions run in workers: the Python (and packages) of this process.
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            builder = (
                SparkSession.builder.master(master)
                .appName("personify")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.session.timeZone", "UTC")
                # DuckDB's TIMESTAMP has no time zone: so have Spark's.
                .config("spark.sql.timestampType", "TIMESTAMP_NTZ")
                .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            )
            if master.startswith("local"):
                # A laptop's data: 200 shuffle partitions would be mostly empty tasks.
                builder = builder.config("spark.sql.shuffle.partitions", "2")
            if local_dir is not None:
                builder = builder.config("spark.local.dir", str(local_dir))
            jar = similarity_jar()
            if jar is not None:  # Splink's similarity functions (engine/_splink.py)
                builder = builder.config("spark.jars", jar)
            session = builder.getOrCreate()
            session.sparkContext.setLogLevel("OFF")
            _SESSIONS[master] = session
        return _SESSIONS[master].newSession()


class _Result:
    """What :meth:`SparkEngine.sql` returns: the DuckDB result's fetchone/fetchall/df."""

    def __init__(self, df: DataFrame | None = None, rows: list[tuple[Any, ...]] | None = None):
        self._df = df
        self._rows = rows
        self._next = 0

    def _all(self) -> list[tuple[Any, ...]]:
        if self._rows is None:
            self._rows = [] if self._df is None else [tuple(r) for r in _run(self._df.collect)]
        return self._rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows = self._all()[self._next :]
        self._next = len(self._all())
        return rows

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self._all()
        if self._next >= len(rows):
            return None
        self._next += 1
        return rows[self._next - 1]

    def df(self) -> pd.DataFrame:
        if self._df is None:
            return pd.DataFrame(self._all())
        return _run(self._df.toPandas)


class SparkEngine(Engine):
    """Stages on Spark; tables as Parquet under ``path`` (see the module's notes)."""

    def __init__(
        self, path: Path, *, master: str = "local[*]", temp_directory: Path | None = None
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.spark = spark_session(master, local_dir=temp_directory)
        self._tables: dict[str, list[str]] = self._read_catalogue()
        self._temps: dict[str, list[str]] = {}  # temp table -> [its frame's token]
        self._frames: dict[str, DataFrame] = {}
        self._functions: set[str] = set()
        self._macros: dict[str, Callable[[list[exp.Expr]], exp.Expr]] = dict(_FRAGMENTS)
        self._depth = 0
        self._snapshot: tuple[dict[str, list[str]], dict[str, list[str]]] | None = None
        self._written: list[str] = []  # folders written in the open transaction
        for name, parts in self._tables.items():
            self._register(name, parts)

    # -- the catalogue ------------------------------------------------------------------------
    def _read_catalogue(self) -> dict[str, list[str]]:
        file = self.path / CATALOGUE
        if not file.exists():
            return {}
        return {k: list(v) for k, v in json.loads(file.read_text())["tables"].items()}

    def _save_catalogue(self) -> None:
        file = self.path / CATALOGUE
        staged = file.with_name(f".{CATALOGUE}.{uuid.uuid4().hex}")
        staged.write_text(json.dumps({"version": 1, "tables": self._tables}, indent=1))
        os.replace(staged, file)  # atomic: every table of the transaction at once

    def _absolute(self, part: str) -> str:
        return str(self.path / part)

    def _register(self, name: str, parts: list[str]) -> None:
        if parts and parts[0] in self._frames:  # a temp table
            self._frames[parts[0]].createOrReplaceTempView(name)
            return
        self.spark.read.parquet(*(self._absolute(p) for p in parts)).createOrReplaceTempView(name)

    def _new_folder(self, name: str) -> str:
        folder = self.path / "data" / name / f"{name}-{uuid.uuid4().hex[:12]}"
        return str(folder.relative_to(self.path))

    def _write(self, name: str, df: DataFrame, *, temp: bool, append: bool = False) -> None:
        """Materialise ``df`` as (part of) table ``name`` and make the view show it."""
        if temp:
            # A local checkpoint: computed once, kept by the executors (spilling to disk),
            # its plan cut; cheaper than a Parquet round trip for what lives one run.
            if append:
                df = self.spark.table(name).unionByName(df)
            token = f"temp:{name}:{uuid.uuid4().hex[:12]}"
            self._frames[token] = df.localCheckpoint(eager=True)
            self._temps[name] = [token]
            self._register(name, [token])
            self._autocommit()
            return
        folder = self._new_folder(name)
        df.write.parquet(self._absolute(folder))
        self._written.append(folder)
        tables = self._temps if temp else self._tables
        tables[name] = [*tables.get(name, []), folder] if append else [folder]
        self._register(name, tables[name])
        self._autocommit()

    def _autocommit(self) -> None:
        if not self._depth:
            self._commit()

    def _commit(self) -> None:
        self._save_catalogue()
        self._written = []
        self._snapshot = None
        self._collect_garbage()

    def _collect_garbage(self) -> None:
        """Remove the folders and frames that no table or temp table names any more."""
        live = {p for parts in (*self._tables.values(), *self._temps.values()) for p in parts}
        for token in [t for t in self._frames if t not in live]:
            self._frames.pop(token).unpersist()
        data = self.path / "data"
        for root in data.iterdir() if data.exists() else []:
            for folder in root.iterdir():
                if str(folder.relative_to(self.path)) not in live:
                    shutil.rmtree(folder, ignore_errors=True)
            if not any(root.iterdir()):
                root.rmdir()

    def _parts(self, name: str) -> tuple[dict[str, list[str]], bool]:
        if name in self._temps:
            return self._temps, True
        if name in self._tables:
            return self._tables, False
        raise WorkspaceError(f"the engine failed: no table {name!r}")

    # -- the Engine interface -----------------------------------------------------------------
    def _begin(self) -> None:
        """All or nothing, as far as a catalogue file can (see the module's notes)."""
        self._snapshot = (
            {k: list(v) for k, v in self._tables.items()},
            {k: list(v) for k, v in self._temps.items()},
        )

    def _rollback(self) -> None:
        assert self._snapshot is not None
        before_tables, before_temps = self._snapshot
        for current, before in ((self._tables, before_tables), (self._temps, before_temps)):
            for name in set(current) | set(before):
                if name not in before:
                    self.spark.catalog.dropTempView(name)
                elif current.get(name) != before[name]:
                    self._register(name, before[name])
            current.clear()
            current.update(before)
        for folder in self._written:
            shutil.rmtree(self._absolute(folder), ignore_errors=True)
        self._written = []
        self._snapshot = None

    def list_tables(self) -> list[str]:
        return sorted(self._tables)

    def columns(self, table: str) -> list[str]:
        return list(self.spark.table(table).columns)

    def column_types(self, table: str) -> list[tuple[str, str]]:
        return [(f.name, _duckdb_type(f.dataType)) for f in self.spark.table(table).schema]

    def create_table(
        self, name: str, query: str, *, temp: bool = False, params: list[Any] | None = None
    ) -> None:
        self._log("create_table", query)
        self._create_as(name, self._parse_one(query), temp=temp, params=params)

    def load_parquet(self, name: str, path: str) -> None:
        self._log("load_parquet", f"SELECT * FROM {name}")
        self._write(name, self.spark.read.parquet(str(path)), temp=False)

    def drop_table(self, name: str) -> None:
        self._log("drop_table", f"DROP TABLE {name}")
        self._drop(name)

    def rename_table(self, old: str, new: str) -> None:
        self._log("rename_table", f"ALTER TABLE {old} RENAME TO {new}")
        tables, _ = self._parts(old)
        tables[new] = tables.pop(old)
        self.spark.catalog.dropTempView(old)
        self._register(new, tables[new])
        self._autocommit()

    def delete_rows(self, table: str, where: str, params: list[Any] | None = None) -> None:
        self._log("delete_rows", f"SELECT * FROM {table} WHERE {where}")
        condition = self._parse_one(f"SELECT * FROM t WHERE {where}").args["where"].this
        self._delete(table, condition, params)

    def define_macro(self, name: str, parameters: list[str], body: str) -> None:
        self._log("define_macro", f"SELECT {body}")
        self._macros[name.lower()] = _template(parameters, body, self.dialect)
        self.macros.add(name)

    # Fragments are calls of the engine's own functions (personify_*), which the
    # translation replaces by Spark SQL: written into a DuckDB-dialect statement,
    # Spark SQL itself would be read, and mistranslated, as DuckDB's.
    def days_between(self, start: str, end: str) -> str:
        return self._fragment(f"personify_days_between({start}, {end})")

    def local_time(self, timestamp: str, zone: str) -> str:
        z = "'" + zone.replace("'", "''") + "'"
        return self._fragment(f"personify_local_time({timestamp}, {z})")

    def quantiles(self, value: str, fractions: list[float]) -> str:
        listed = ", ".join(repr(float(f)) for f in fractions)
        return self._fragment(f"personify_quantiles({value}, {listed})")

    def index_of_min(self, values: list[str]) -> str:
        return self._fragment(f"personify_index_of_min({', '.join(values)})")

    def epoch_seconds(self, timestamp: str) -> str:
        return self._fragment(f"personify_epoch_seconds({timestamp})")

    def row_hash(self, *values_sql: str) -> str:
        # xxhash64 skips NULL arguments: each value's NULL flag goes in beside it.
        args = ", ".join(f"{v} IS NULL, {v}" for v in values_sql)
        return f"xxhash64({args})"

    def register_scalar_function(
        self,
        name: str,
        function: Callable[..., pa.Array],
        *,
        parameters: list[str],
        returns: str,
    ) -> None:
        """``function`` (Arrow arrays in, an Arrow array out) as a pandas UDF of Spark."""
        if name in self._functions:
            return
        spark_type = _TYPES[returns.upper()]

        def on_batches(*series: pd.Series) -> pd.Series:
            arrays = [pa.array(s, from_pandas=True) for s in series]
            return pd.Series(function(*arrays).to_pandas())

        self.spark.udf.register(name, pandas_udf(on_batches, returnType=spark_type))  # type: ignore[call-overload]
        self._functions.add(name)

    def append_arrow(self, table: str, data: pa.Table) -> None:
        _, temp = self._parts(table)
        schema = self.spark.table(table).schema
        df = self.spark.createDataFrame(data.to_pandas(), schema=schema)
        self._write(table, df, temp=temp, append=True)

    def close(self) -> None:
        for name in list(self._temps) + list(self._tables):
            self.spark.catalog.dropTempView(name)
        self._temps.clear()
        for frame in self._frames.values():
            frame.unpersist()
        self._frames.clear()

    # -- statements ---------------------------------------------------------------------------
    def _parse_one(self, query: str) -> exp.Expr:
        return sqlglot.parse_one(query, read=self.dialect)

    def _execute(self, query: str, params: list[Any] | None = None) -> Any:
        try:
            statements = [s for s in sqlglot.parse(query, read=self.dialect) if s is not None]
            result: _Result = _Result(rows=[])
            for statement in statements:
                result = self._statement(statement, params)
            return result
        except WorkspaceError:
            raise
        except Exception as exc:
            shown = query.strip()
            shown = shown if len(shown) <= 2000 else shown[:2000] + " ..."
            error = WorkspaceError(f"the engine failed: {_first_line(exc)}")
            error.add_note(f"-- while running:\n{shown}")
            log.debug("failed SQL:\n%s", shown)
            raise error from exc

    def _statement(self, statement: exp.Expr, params: list[Any] | None) -> _Result:
        if isinstance(statement, exp.Create) and statement.kind == "TABLE":
            return self._create(statement, params)
        if isinstance(statement, exp.Drop) and statement.kind in ("TABLE", "VIEW"):
            for table in statement.args.get("tables") or []:
                self._drop(table.name, must_exist=not statement.args.get("exists"))
            return _Result(rows=[])
        if isinstance(statement, exp.Alter) and statement.args.get("actions"):
            action = statement.args["actions"][0]
            if isinstance(action, exp.AlterRename):
                self.rename_table(statement.this.name, action.this.name)
                return _Result(rows=[])
        if isinstance(statement, exp.Delete):
            where = statement.args.get("where")
            self._delete(statement.this.name, where.this if where else exp.true(), params)
            return _Result(rows=[])
        if isinstance(statement, exp.Insert):
            return self._insert(statement, params)
        if isinstance(statement, exp.Describe):
            df = self.spark.table(statement.this.name)
            return _Result(rows=[(f.name, _duckdb_type(f.dataType)) for f in df.schema.fields])
        if isinstance(statement, exp.Query):
            return _Result(self._query(statement, params))
        raise WorkspaceError(
            f"the engine failed: the Spark engine does not run {statement.key.upper()} "
            "statements (use an engine method)"
        )

    def _query(self, query: exp.Expr, params: list[Any] | None) -> DataFrame:
        text = self._expand_macros(query).sql(dialect="spark")
        return self.spark.sql(text, args=list(params) if params else None)

    def _expand_macros(self, tree: exp.Expr) -> exp.Expr:
        """Calls of macros and of the engine's fragments replaced by their bodies."""

        def expand(node: exp.Expr) -> exp.Expr:
            if isinstance(node, exp.Anonymous) and str(node.this).lower() in self._macros:
                body = self._macros[str(node.this).lower()](list(node.expressions))
                return self._expand_macros(body)  # macros call macros
            return node

        return tree.copy().transform(expand)

    def _create(self, statement: exp.Create, params: list[Any] | None) -> _Result:
        properties = statement.args.get("properties")
        temp = bool(properties and properties.find(exp.TemporaryProperty))
        target = statement.this
        name = target.this.name if isinstance(target, exp.Schema) else target.name
        exists = name in self._tables or name in self._temps
        if exists and statement.args.get("exists"):
            return _Result(rows=[])  # CREATE TABLE IF NOT EXISTS
        if exists and not statement.args.get("replace"):
            raise WorkspaceError(f"the engine failed: table {name!r} already exists")
        if statement.expression is not None:
            self._create_as(name, statement.expression, temp=temp, params=params)
        else:
            ddl = ", ".join(
                f"`{c.name}` {_spark_type(c.args['kind'])}"
                for c in target.expressions
                if isinstance(c, exp.ColumnDef)
            )
            self._write(name, self.spark.createDataFrame([], schema=ddl), temp=temp)
        return _Result(rows=[])

    def _create_as(
        self, name: str, query: exp.Expr, *, temp: bool, params: list[Any] | None
    ) -> None:
        if name in self._tables and temp:
            raise WorkspaceError(f"the engine failed: {name!r} is a table, not a temp table")
        self._write(name, self._query(query, params), temp=temp)

    def _drop(self, name: str, *, must_exist: bool = False) -> None:
        for tables in (self._temps, self._tables):
            if name in tables:
                del tables[name]
                self.spark.catalog.dropTempView(name)
                self._autocommit()
                return
        if must_exist:
            raise WorkspaceError(f"the engine failed: no table {name!r} to drop")

    def _delete(self, table: str, condition: exp.Expr, params: list[Any] | None) -> None:
        _, temp = self._parts(table)
        keep = (
            exp.select("*").from_(table).where(exp.not_(exp.func("coalesce", condition, "false")))
        )
        self._write(table, self._query(keep, params), temp=temp)

    def _insert(self, statement: exp.Insert, params: list[Any] | None) -> _Result:
        target = statement.this
        name = target.this.name if isinstance(target, exp.Schema) else target.name
        _, temp = self._parts(name)
        schema = self.spark.table(name).schema
        columns = [c.name for c in target.expressions] if isinstance(target, exp.Schema) else None
        source = statement.expression
        if isinstance(source, exp.Values):
            values = iter(params or [])
            rows = [[_value(v, values) for v in row.expressions] for row in source.expressions]
            names = columns or schema.names
            df = self.spark.createDataFrame(
                [
                    tuple(
                        _coerce(r[names.index(f.name)], f.dataType) if f.name in names else None
                        for f in schema.fields
                    )
                    for r in rows
                ],
                schema=schema,
            )
        else:
            df = self._query(source, params)
            df = df.toDF(*(columns or schema.names[: len(df.columns)]))
            df = df.select(
                *(
                    df[f.name].cast(f.dataType).alias(f.name) if f.name in df.columns else _null(f)
                    for f in schema.fields
                )
            )
        self._write(name, df, temp=temp, append=True)
        return _Result(rows=[])


def _template(
    parameters: list[str], body: str, dialect: str
) -> Callable[[list[exp.Expr]], exp.Expr]:
    """A function from call arguments to ``body`` (read in ``dialect``) with them put in."""
    tree = sqlglot.parse_one(body, read=dialect)

    def build(args: list[exp.Expr]) -> exp.Expr:
        if len(args) != len(parameters):
            raise WorkspaceError(
                f"the engine failed: {len(args)} argument(s) for ({', '.join(parameters)})"
            )
        given = dict(zip(parameters, args, strict=True))

        def substitute(n: exp.Expr) -> exp.Expr:
            if isinstance(n, exp.Column) and not n.table and n.name in given:
                return given[n.name].copy()
            return n

        return tree.copy().transform(substitute)

    return build


def _array(args: list[exp.Expr]) -> exp.Expr:
    return exp.Array(expressions=[a.copy() for a in args])


# The Spark side of the fragment methods (see SparkEngine.days_between), in Spark SQL.
_FRAGMENTS: dict[str, Callable[[list[exp.Expr]], exp.Expr]] = {
    # Spark's datediff(DAY, a, b) counts whole 24-hour spans; DuckDB's date_diff('day')
    # the calendar days between the dates, as datediff(end, start) of dates does.
    "personify_days_between": _template(
        ["a", "b"], "datediff(CAST(b AS DATE), CAST(a AS DATE))", "spark"
    ),
    # sqlglot writes percentile_cont(x, array), which Spark rejects; percentile() is the
    # exact, interpolating quantile that DuckDB's quantile_cont is.
    "personify_quantiles": lambda args: exp.Anonymous(
        this="percentile", expressions=[args[0].copy(), _array(args[1:])]
    ),
    # Both positions count from 1 (DuckDB's list_position, Spark's array_position).
    "personify_index_of_min": lambda args: exp.Anonymous(
        this="array_position",
        expressions=[_array(args), exp.Anonymous(this="array_min", expressions=[_array(args)])],
    ),
    # The session time zone is UTC: from_utc_timestamp gives the zone's wall clock.
    "personify_local_time": _template(["t", "z"], "from_utc_timestamp(t, z)", "spark"),
    # unix_timestamp() drops the fraction of a second that DuckDB's epoch() keeps.
    "personify_epoch_seconds": _template(
        ["t"], "unix_micros(CAST(t AS TIMESTAMP_LTZ)) / 1e6", "spark"
    ),
}


def _duckdb_type(kind: T.DataType) -> str:
    """A Spark type by DuckDB's name for it (what stages compare types with)."""
    if isinstance(kind, T.ArrayType):
        return _duckdb_type(kind.elementType) + "[]"
    if isinstance(kind, T.DecimalType):
        return f"DECIMAL({kind.precision},{kind.scale})"
    names = {
        T.StringType: "VARCHAR",
        T.LongType: "BIGINT",
        T.IntegerType: "INTEGER",
        T.ShortType: "SMALLINT",
        T.ByteType: "TINYINT",
        T.DoubleType: "DOUBLE",
        T.FloatType: "FLOAT",
        T.BooleanType: "BOOLEAN",
        T.DateType: "DATE",
        T.TimestampType: "TIMESTAMP WITH TIME ZONE",
        T.TimestampNTZType: "TIMESTAMP",
    }
    return names.get(type(kind), kind.simpleString().upper())


def _null(field: T.StructField) -> Any:
    from pyspark.sql.functions import lit

    return lit(None).cast(field.dataType).alias(field.name)


def _spark_type(kind: exp.DataType) -> str:
    if kind.this == exp.DataType.Type.JSON:
        return "STRING"  # Spark has no JSON type: the text, as DuckDB's JSON is
    return kind.sql(dialect="spark")


def _value(node: exp.Expr, params: Iterator[Any]) -> Any:
    """A literal or ``?`` of an INSERT ... VALUES row as a Python value."""
    if isinstance(node, exp.Placeholder):
        return next(params)
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Literal):
        return (
            node.this
            if node.is_string
            else float(node.this)
            if "." in node.this
            else int(node.this)
        )
    raise WorkspaceError(
        f"the engine failed: INSERT ... VALUES takes literals and ? only, got {node.sql()}"
    )


def _coerce(value: Any, kind: T.DataType) -> Any:
    """A Python value as the type Spark's createDataFrame insists on for the column."""
    if value is None:
        return None
    if isinstance(kind, T.DoubleType | T.FloatType):
        return float(value)
    if isinstance(kind, T.IntegerType | T.LongType | T.ShortType):
        return int(value)
    if isinstance(kind, T.StringType) and not isinstance(value, str):
        return json.dumps(value) if isinstance(value, dict | list) else str(value)
    if isinstance(kind, T.TimestampNTZType) and isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return value


def _run(action: Callable[[], Any]) -> Any:
    """Run a Spark action; its failure (a query fails when its rows are read) as ours."""
    try:
        return action()
    except Exception as exc:
        raise WorkspaceError(f"the engine failed: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
