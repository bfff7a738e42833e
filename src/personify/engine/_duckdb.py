"""DuckDB engine: one database file per workspace.

Stages send SQL (DuckDB dialect) through this one layer and never hold whole
tables in Python; what Python needs (a sample to fit a model, an aggregate to
describe a segment) comes back through :meth:`Engine.fetch_df`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from personify.errors import WorkspaceError

log = logging.getLogger(__name__)


class Engine:
    """What every engine offers the stages. Engines fill :meth:`sql` and :meth:`transaction`."""

    def sql(self, query: str, params: list[Any] | None = None) -> Any:
        raise NotImplementedError

    @contextmanager
    def transaction(self) -> Iterator[None]:
        raise NotImplementedError
        yield  # pragma: no cover

    def list_tables(self) -> list[str]:
        raise NotImplementedError

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


class DuckDBEngine(Engine):
    """The embedded default engine."""

    def __init__(
        self,
        database: Path,
        *,
        read_only: bool = False,
        memory_limit: str | None = None,
        temp_directory: Path | None = None,
    ) -> None:
        self.database = Path(database)
        if read_only and not self.database.exists():
            raise WorkspaceError(f"no workspace database at {self.database}")
        config: dict[str, str | bool | int | float | list[str]] = {}
        if memory_limit:
            config["memory_limit"] = memory_limit
        if temp_directory:
            config["temp_directory"] = str(temp_directory)
        try:
            self.con = duckdb.connect(str(self.database), read_only=read_only, config=config)
        except duckdb.Error as exc:
            raise WorkspaceError(f"cannot open workspace database {self.database}: {exc}") from exc
        self._depth = 0
        self._functions: set[str] = set()
        # Timestamps are stored and compared in UTC whatever the machine's zone.
        self.con.execute("SET TimeZone = 'UTC'")
        # Progress goes through the stages' own progress callback, not DuckDB's bar.
        self.con.execute("SET enable_progress_bar = false")

    def sql(self, query: str, params: list[Any] | None = None) -> Any:
        try:
            return self.con.execute(query, params) if params else self.con.execute(query)
        except duckdb.Error as exc:
            # The failing SQL goes in a note: tracebacks and -v logs show it, users' error
            # messages do not (forty lines of SQL tell a user nothing).
            shown = query.strip()
            shown = shown if len(shown) <= 2000 else shown[:2000] + " ..."
            error = WorkspaceError(f"the engine failed: {exc}")
            error.add_note(f"-- while running:\n{shown}")
            log.debug("failed SQL:\n%s", shown)
            raise error from exc

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: a failure inside leaves every table as it was. Nests."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.con.execute("BEGIN TRANSACTION")
        self._depth = 1
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")
        finally:
            self._depth = 0

    def append_arrow(self, table: str, data: pa.Table) -> None:
        self.con.register("_personify_append", data)
        try:
            self.sql(f"INSERT INTO {table} SELECT * FROM _personify_append")
        finally:
            self.con.unregister("_personify_append")

    def list_tables(self) -> list[str]:
        rows = self.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
            "UNION SELECT view_name FROM duckdb_views() WHERE NOT internal AND NOT temporary"
        ).fetchall()
        return sorted(r[0] for r in rows)

    def row_hash(self, *values_sql: str) -> str:
        return f"hash({', '.join(values_sql)})"

    def register_scalar_function(
        self,
        name: str,
        function: Callable[..., pa.Array],
        *,
        parameters: list[str],
        returns: str,
    ) -> None:
        """Make ``function`` callable from SQL on this connection as ``name(...)``.

        ``function`` takes one Arrow array per parameter (a chunk of rows) and returns an
        Arrow array of as many values. It must be deterministic (the engine may call it on
        any chunk, in any order) and give NULL for a NULL argument; it may return NULL
        otherwise too (DuckDB's "special" null handling: NULLs are passed through to it).
        Registering a name again keeps the first registration (functions are per connection).
        """
        if name in self._functions:
            return
        # Options as strings: every supported DuckDB accepts them, while the enums' module
        # moved between versions (duckdb.functional -> duckdb.func).
        options: dict[str, Any] = {
            "type": "arrow",  # whole chunks as Arrow arrays, not one Python call per row
            "null_handling": "special",
            "exception_handling": "default",
            "side_effects": False,
        }
        try:
            self.con.create_function(
                name,
                function,
                [duckdb.sqltype(p) for p in parameters],
                duckdb.sqltype(returns),
                **options,
            )
        except duckdb.CatalogException as exc:
            # Connections to one database file in one process share its functions.
            if "already exists" not in str(exc):
                raise
        self._functions.add(name)

    def close(self) -> None:
        self.con.close()
