"""The portable SQL subset: which constructs of a DuckDB-dialect statement mean
something else, or nothing, on Spark.

Stage code keeps to what sqlglot translates faithfully; each construct below has an
engine method instead (named in its reason). tests/engine/test_portability.py runs the
stages with a statement log and fails on any of these outside the engine layer.
Needs sqlglot (``personify[spark]``).
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlglot
from sqlglot import exp

# Functions by name (as sqlglot names them, lower case) -> why they are not portable.
FUNCTIONS = {
    "hash": "hash(): each engine hashes differently (engine.sample_key / row_hash)",
    "datediff": "date_diff(): DuckDB counts calendar days, Spark whole 24 h (days_between)",
    "date_diff": "date_diff(): DuckDB counts calendar days, Spark whole 24 h (days_between)",
    "time_to_unix": "epoch(): Spark's unix_timestamp drops the fraction (epoch_seconds)",
    "list_position": "list_position: not translated (index_of_min)",
    "list_filter": "list_filter: lambdas index from 1 in DuckDB, 0 in Spark",
    "list_transform": "list_transform: lambdas index from 1 in DuckDB, 0 in Spark",
    "percentile_cont": "quantile_cont(x, [..]) becomes percentile_cont(x, array), which Spark "
    "rejects (engine.quantiles)",
    "quantile_cont": "quantile_cont(x, [..]): see engine.quantiles",
    "struct_pack": "struct_pack/to_json: Spark's to_json drops NULL fields",
    "json_format": "to_json: Spark's drops NULL fields",
    "to_json": "to_json: Spark's drops NULL fields",
    "json_valid": "json_valid: no Spark equivalent",
    "duckdb_tables": "duckdb_tables(): the engine's catalogue (engine.list_tables)",
    "duckdb_views": "duckdb_views(): the engine's catalogue (engine.list_tables)",
    "read_csv": "read_csv: DuckDB's reader with rejects tables",
    "read_csv_auto": "read_csv: DuckDB's reader with rejects tables",
    "read_parquet": "read_parquet: engine.load_parquet",
}
AGGREGATES = (exp.Avg, exp.Sum, exp.Stddev, exp.StddevPop, exp.StddevSamp, exp.Median)


def duckdb_only(
    statement: str, *, fragments: Iterable[str] = (), functions: Iterable[str] = ()
) -> list[str]:
    """The DuckDB-only constructs of ``statement``, each with why (empty: portable).

    ``fragments``: SQL the engine methods produced (skipped: engine-specific by design);
    ``functions``: names the engine defines (macros, registered Python functions).
    """
    for fragment in sorted(set(fragments), key=len, reverse=True):
        statement = statement.replace(fragment, "NULL")
    known = {f.lower() for f in functions}
    found: list[str] = []
    for tree in sqlglot.parse(statement, read="duckdb"):
        if tree is None:
            continue
        for node in tree.walk():
            reason = _reason(node, known)
            if reason and reason not in found:
                found.append(reason)
    return found


def _reason(node: exp.Expr, known: set[str]) -> str | None:
    if isinstance(node, exp.Create):
        if node.args.get("replace"):
            return "CREATE OR REPLACE: Spark's catalogue differs (engine.create_table)"
        if node.kind in ("MACRO", "FUNCTION"):
            return "macros: Spark has none (engine.define_macro)"
        if node.expression is not None:
            return "CREATE TABLE AS: engine.create_table"
    if isinstance(node, exp.Delete):
        return "DELETE: Parquet tables cannot delete in place (engine.delete_rows)"
    if isinstance(node, exp.Alter):
        return "ALTER TABLE: engine.rename_table"
    if isinstance(node, exp.Drop):
        return "DROP TABLE: engine.drop_table"
    if isinstance(node, exp.Describe):
        return "DESCRIBE: types are named differently (engine.columns / column_types)"
    if isinstance(node, exp.Transaction | exp.Commit | exp.Rollback):
        return "BEGIN/COMMIT: engine.transaction()"
    if isinstance(node, exp.Lambda):
        return "list lambdas: indexes start at 1 in DuckDB, 0 in Spark"
    if isinstance(node, exp.TryCast) and node.to.is_type(*exp.DataType.INTEGER_TYPES):
        return "TRY_CAST to an integer: DuckDB rounds '12.7' to 13, Spark gives NULL"
    window = isinstance(node, exp.Window) and isinstance(node.this, exp.RowNumber)
    if window and not node.args.get("order"):
        return "row_number() OVER () without ORDER BY: the order differs by engine"
    if isinstance(node, exp.RegexpReplace) and not node.args.get("modifiers"):
        pattern = node.expression
        if not (isinstance(pattern, exp.Literal) and pattern.this.startswith("^")):
            return "regexp_replace without 'g': DuckDB replaces the first match, Spark all"
    decimal = isinstance(node, exp.Literal) and not node.is_string and "." in node.this
    if decimal and "e" not in node.this.lower() and _in_arithmetic(node):
        return (
            "a decimal literal in an aggregate or coalesce: DuckDB makes it DOUBLE, "
            "Spark keeps DECIMAL and rounds (write CAST(x AS DOUBLE) or an integer)"
        )
    if isinstance(node, exp.Func):
        name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
        if name in FUNCTIONS:
            return FUNCTIONS[name]
        if isinstance(node, exp.Anonymous) and name not in known:
            return f"{name}(): a function sqlglot does not know, passed through untranslated"
    return None


def _in_arithmetic(node: exp.Expr) -> bool:
    parent = node.parent
    while isinstance(parent, exp.Paren | exp.Neg | exp.If | exp.Case | exp.Add | exp.Sub):
        parent = parent.parent
    return isinstance(parent, (exp.Coalesce, exp.Div, *AGGREGATES))
