"""What every engine offers the stages.

Stage code sends SQL in DuckDB's dialect through :meth:`Engine.sql`, limited to a
portable subset (checked by tests/engine/test_portability.py): what sqlglot translates
faithfully to Spark SQL. What genuinely differs between engines is an engine method
with one implementation per engine: statements (:meth:`create_table`,
:meth:`delete_rows`, :meth:`define_macro`, ...) and SQL fragments
(:meth:`days_between`, :meth:`age_years`, :meth:`quantiles`, ...).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

from personify.errors import WorkspaceError


@dataclass(frozen=True)
class Statement:
    """One statement as a stage sent it: ``origin`` is ``sql`` for :meth:`Engine.sql`,
    else the engine method that built it (``create_table``, ``delete_rows``, ...)."""

    origin: str
    text: str


class Engine:
    """Engines fill :meth:`_execute`, :meth:`transaction` and the methods below."""

    dialect = "duckdb"  # the dialect stage SQL is written in, whatever the engine
    # A Spark engine's SparkSession (identity runs Splink's Spark backend in it), else None.
    spark: Any = None

    def __init__(self) -> None:
        # When a list, every statement a stage sends is appended (see log_statements).
        self.statement_log: list[Statement] | None = None
        # SQL fragments the engine methods produced: a portability check skips them.
        self.fragments: set[str] = set()
        self.macros: set[str] = set()

    # -- what stages call ---------------------------------------------------------------------
    def sql(self, query: str, params: list[Any] | None = None) -> Any:
        """Run portable SQL (DuckDB's dialect); a result with fetchone/fetchall/df."""
        self._log("sql", query)
        return self._execute(query, params)

    @contextmanager
    def log_statements(self) -> Iterator[list[Statement]]:
        """Collect every statement stages send while the block runs."""
        log: list[Statement] = []
        self.statement_log = log
        try:
            yield log
        finally:
            self.statement_log = None

    def _log(self, origin: str, text: str) -> None:
        if self.statement_log is not None:
            self.statement_log.append(Statement(origin, text))

    def _fragment(self, text: str) -> str:
        self.fragments.add(text)
        return text

    def _execute(self, query: str, params: list[Any] | None = None) -> Any:
        raise NotImplementedError

    _depth = 0  # how many transaction() blocks are open

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: a failure inside leaves every table as it was. Nests: an inner
        block is part of the outer one. Engines fill _begin, _commit and _rollback."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._begin()
        self._depth = 1
        try:
            yield
        except BaseException:
            self._rollback()
            raise
        else:
            self._commit()
        finally:
            self._depth = 0

    def _begin(self) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError

    def list_tables(self) -> list[str]:
        raise NotImplementedError

    def columns(self, table: str) -> list[str]:
        """The column names of a table, in order."""
        raise NotImplementedError

    def column_types(self, table: str) -> list[tuple[str, str]]:
        """(name, type) of each column, the type as DuckDB names it (VARCHAR, BIGINT,
        DOUBLE, DECIMAL(18,2), BOOLEAN, DATE, TIMESTAMP, VARCHAR[], ...) on every engine."""
        raise NotImplementedError

    # Statements that differ between engines -------------------------------------------------
    def create_table(
        self, name: str, query: str, *, temp: bool = False, params: list[Any] | None = None
    ) -> None:
        """``name`` (replaced if it exists) as the result of ``query``; temp tables live
        as long as the engine and are never listed."""
        raise NotImplementedError

    def load_parquet(self, name: str, path: str) -> None:
        """Table ``name`` (replaced if it exists) with the rows of Parquet file(s) ``path``."""
        raise NotImplementedError

    def drop_table(self, name: str) -> None:
        """Drop a table or temp table if it exists."""
        raise NotImplementedError

    def rename_table(self, old: str, new: str) -> None:
        raise NotImplementedError

    def delete_rows(self, table: str, where: str, params: list[Any] | None = None) -> None:
        """Delete the rows of ``table`` for which ``where`` is true."""
        raise NotImplementedError

    def define_macro(self, name: str, parameters: list[str], body: str) -> None:
        """A SQL function ``name(parameters)`` = ``body`` (an expression) for later statements."""
        raise NotImplementedError

    # Fragments whose meaning differs between engines -----------------------------------------
    def days_between(self, start: str, end: str) -> str:
        """SQL: calendar days from ``start`` to ``end`` (dates or timestamps; the time of day
        does not count: 23:00 to 01:00 next day is 1 day)."""
        raise NotImplementedError

    def age_years(self, birth: str, as_of: dt.date) -> str:
        """SQL: full years from ``birth`` (a date) to ``as_of``: an age."""
        # year(), month() and day() mean the same on every engine.
        return self._fragment(
            f"year(DATE '{as_of}') - year({birth}) - CASE WHEN month({birth}) * 100 + "
            f"day({birth}) > {as_of.month * 100 + as_of.day} THEN 1 ELSE 0 END"
        )

    def local_time(self, timestamp: str, zone: str) -> str:
        """SQL: ``timestamp`` (naive UTC, as ingest stores it) as the wall-clock time in
        the IANA ``zone`` (e.g. Europe/Berlin), naive."""
        raise NotImplementedError

    def quantiles(self, value: str, fractions: list[float]) -> str:
        """SQL aggregate: the list of exact quantiles of ``value`` (linear interpolation)."""
        raise NotImplementedError

    def index_of_min(self, values: list[str]) -> str:
        """SQL: the 1-based position of the smallest of ``values`` (the first on ties)."""
        raise NotImplementedError

    def epoch_seconds(self, timestamp: str) -> str:
        """SQL: seconds since 1970-01-01 00:00 UTC, with their fraction, as a DOUBLE."""
        raise NotImplementedError

    def sample_key(self, value: str) -> str:
        """SQL: a key to order rows by for a deterministic sample, equal on every engine
        (engines' own hash() functions differ): the MD5 of ``value`` as hex text."""
        return self._fragment(f"md5(CAST({value} AS VARCHAR))")

    def row_hash(self, *values_sql: str) -> str:
        """SQL of a 64-bit hash of the values (a row's fields), NULL told apart from ''.

        The engine's own hash: five times faster than MD5 in DuckDB. It need only be
        stable within one workspace; should a new engine version hash differently, the
        next load finds every row new and rebuilds the source (no row is lost or kept
        twice: see the loader)."""
        raise NotImplementedError

    def register_scalar_function(
        self,
        name: str,
        function: Callable[..., pa.Array],
        *,
        parameters: list[str],
        returns: str,
    ) -> None:
        """Make a vectorised Python function callable from SQL (see DuckDBEngine)."""
        raise NotImplementedError

    def append_arrow(self, table: str, data: pa.Table) -> None:
        """Append rows computed in Python (columns in the table's order) to ``table``."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # Shared on every engine ------------------------------------------------------------------
    def has_table(self, name: str) -> bool:
        return name in self.list_tables()

    def require(self, *names: str) -> None:
        missing = [n for n in names if not self.has_table(n)]
        if missing:
            raise WorkspaceError(
                f"the workspace has no table(s) {missing}; run the stage that writes them first"
            )

    def fetch_df(self, query: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Pull a small result into pandas: an aggregate, a sample, model inputs."""
        return self.sql(query, params).df()

    def scalar(self, query: str, params: list[Any] | None = None) -> Any:
        row = self.sql(query, params).fetchone()
        return None if row is None else row[0]

    def count(self, table: str) -> int:
        return int(self.scalar(f"SELECT count(*) FROM {table}"))
