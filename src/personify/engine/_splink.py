"""Splink's Spark backend on the Spark engine's session (identity's probabilistic part).

Splink's Spark comparisons call Scala functions (``jaro_winkler``,
``damerau_levenshtein``, ...) from a jar inside the splink wheel:
``splink/internals/files/spark_jars/scala-udf-similarity-0.2.1_spark4.x.jar`` for
Spark 4 (Scala 2.13, built against Spark 4.1.1 and Java 17; it loads on PySpark 4.3,
whose Scala is 2.13.18). :func:`personify.engine._spark.spark_session` puts it on
``spark.jars`` when the session starts: a local file, which Spark itself hands to a
cluster's executors; nothing is downloaded.

Two things differ from Splink's DuckDB backend and are handled here:

- the comparisons' SQL is written in DuckDB's dialect, where ``"x_l"`` is a column;
  read as Spark SQL it would be a string literal and every level would compare two
  constants without an error. :func:`spark_sql` translates it (sqlglot) and names
  Splink's Scala function for DuckDB's ``jaro_winkler_similarity``;
- Jaro's transpositions: the jar halves the count of matched characters out of order
  exactly (2.5 for 5), DuckDB rounds the half down (2, as Winkler's strcmp95 does), so
  the two disagree for pairs with an odd count of them (none in the demo's names;
  docs/scale.md). Levenshtein-Damerau distances agree.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp

from personify.errors import WorkspaceError

log = logging.getLogger(__name__)


def similarity_jar() -> str | None:
    """The splink wheel's similarity jar for the installed Spark, or None without splink."""
    try:
        from splink.backends.spark import similarity_jar_location
    except ImportError:  # pragma: no cover - splink is a dependency
        return None
    return similarity_jar_location()


def spark_sql(condition: str) -> str:
    """A Splink SQL condition in DuckDB's dialect as Spark SQL for Splink's Spark backend."""

    def rename(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.JarowinklerSimilarity):
            return exp.Anonymous(
                this="jaro_winkler", expressions=[node.this.copy(), node.expression.copy()]
            )
        return node

    tree = sqlglot.parse_one(condition, read="duckdb").transform(rename)
    return tree.sql(dialect="spark")


def spark_comparisons(comparisons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Splink comparison dicts with every level's condition in Spark SQL."""
    return [
        {
            **c,
            "comparison_levels": [
                lv
                if lv["sql_condition"] == "ELSE"
                else {**lv, "sql_condition": spark_sql(lv["sql_condition"])}
                for lv in c["comparison_levels"]
            ],
        }
        for c in comparisons
    ]


@dataclass
class SplinkOnSpark:
    """Splink's SparkAPI in a session of its own (its temp views and functions do not
    reach the engine's); :meth:`close` drops them and frees what Splink cached."""

    session: Any
    api: Any = field(init=False)

    def __post_init__(self) -> None:
        from splink.backends.spark import SparkAPI
        from splink.internals.spark.jar_location import get_scala_udfs

        for name, cls, returns in get_scala_udfs():
            try:
                self.session.udf.registerJavaFunction(name, cls, returns)
            except Exception as exc:
                raise WorkspaceError(
                    "identity on Spark needs Splink's similarity jar on the session's "
                    f"spark.jars ({similarity_jar()}); it did not load: {exc}"
                ) from exc
        # Splink's intermediate tables are cached ("persist"): its default writes
        # Parquet to a checkpoint directory the session would need to be given.
        self.api = SparkAPI(
            spark_session=self.session,
            break_lineage_method="persist",
            register_udfs_automatically=False,
        )

    def register(self, data: Any, name: str, display_name: str) -> Any:
        """An Arrow table as Splink's input: temp view ``name`` of the session."""
        self.session.createDataFrame(data).createOrReplaceTempView(name)
        return self.api.register(name, dataset_display_name=display_name)

    def close(self) -> None:
        for table in self.session.catalog.listTables():
            if table.isTemporary:
                with contextlib.suppress(Exception):  # not cached
                    self.session.catalog.uncacheTable(table.name)
                self.session.catalog.dropTempView(table.name)
