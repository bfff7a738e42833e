"""DuckDB engine: one database file per workspace.

Stages send SQL (DuckDB dialect) through this one layer and never hold whole
tables in Python; what Python needs (a sample to fit a model, an aggregate to
describe a segment) comes back through :meth:`Engine.fetch_df`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from personify.engine._base import Engine
from personify.errors import WorkspaceError

log = logging.getLogger(__name__)


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
        super().__init__()
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

    def _execute(self, query: str, params: list[Any] | None = None) -> Any:
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

    def _begin(self) -> None:
        self.con.execute("BEGIN TRANSACTION")

    def _commit(self) -> None:
        self.con.execute("COMMIT")

    def _rollback(self) -> None:
        self.con.execute("ROLLBACK")

    def append_arrow(self, table: str, data: pa.Table) -> None:
        self.con.register("_personify_append", data)
        try:
            self._execute(f"INSERT INTO {table} SELECT * FROM _personify_append")
        finally:
            self.con.unregister("_personify_append")

    def list_tables(self) -> list[str]:
        rows = self.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
            "UNION SELECT view_name FROM duckdb_views() WHERE NOT internal AND NOT temporary"
        ).fetchall()
        return sorted(r[0] for r in rows)

    def columns(self, table: str) -> list[str]:
        return [r[0] for r in self._execute(f"DESCRIBE {table}").fetchall()]

    def column_types(self, table: str) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self._execute(f"DESCRIBE {table}").fetchall()]

    def create_table(
        self, name: str, query: str, *, temp: bool = False, params: list[Any] | None = None
    ) -> None:
        self._log("create_table", query)
        self._execute(f"CREATE OR REPLACE {'TEMP ' if temp else ''}TABLE {name} AS {query}", params)

    def load_parquet(self, name: str, path: str) -> None:
        self._log("load_parquet", f"SELECT * FROM {name}")
        self._execute(
            f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM read_parquet(?)", [str(path)]
        )

    def drop_table(self, name: str) -> None:
        self._log("drop_table", f"DROP TABLE {name}")
        self._execute(f"DROP TABLE IF EXISTS {name}")

    def rename_table(self, old: str, new: str) -> None:
        self._log("rename_table", f"ALTER TABLE {old} RENAME TO {new}")
        self._execute(f"ALTER TABLE {old} RENAME TO {new}")

    def delete_rows(self, table: str, where: str, params: list[Any] | None = None) -> None:
        self._log("delete_rows", f"SELECT * FROM {table} WHERE {where}")
        self._execute(f"DELETE FROM {table} WHERE {where}", params)

    def define_macro(self, name: str, parameters: list[str], body: str) -> None:
        self._log("define_macro", f"SELECT {body}")
        self._execute(f"CREATE OR REPLACE TEMP MACRO {name}({', '.join(parameters)}) AS {body}")
        self.macros.add(name)

    def days_between(self, start: str, end: str) -> str:
        # DuckDB's date_diff counts the day boundaries crossed.
        return self._fragment(f"date_diff('day', {start}, {end})")

    def local_time(self, timestamp: str, zone: str) -> str:
        z = "'" + zone.replace("'", "''") + "'"
        return self._fragment(
            f"CAST(({timestamp} AT TIME ZONE 'UTC') AT TIME ZONE {z} AS TIMESTAMP)"
        )

    def quantiles(self, value: str, fractions: list[float]) -> str:
        listed = ", ".join(repr(float(f)) for f in fractions)
        return self._fragment(f"quantile_cont({value}, [{listed}])")

    def index_of_min(self, values: list[str]) -> str:
        listed = f"[{', '.join(values)}]"
        return self._fragment(f"list_position({listed}, list_min({listed}))")

    def epoch_seconds(self, timestamp: str) -> str:
        return self._fragment(f"epoch({timestamp})")

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
