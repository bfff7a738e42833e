"""Every statement identity, profiles, segments and personas send is portable SQL: no
DuckDB-only construct outside the engine layer (personify/engine/_portable.py lists
them with the engine method that replaces each)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from personify import Workspace
from personify.cli import DEMO_LOCALE, demo_sources
from personify.demo import generate_demo_company
from personify.engine import Statement
from personify.engine._portable import duckdb_only

STAGES = ("identity", "profiles", "segments", "personas")
# What the stage wrote: SQL it sent, and the queries, conditions and macro bodies it gave
# engine methods (drop_table and rename_table log the engine's own statements).
CHECKED = {"sql", "create_table", "delete_rows", "define_macro"}


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, list[Statement]]]:
    root = tmp_path_factory.mktemp("portable")
    generate_demo_company(root / "data", customers=300, seed=3)
    ws = Workspace.init(
        root / "ws", sources=demo_sources(str(root / "data" / "sources")), locale=DEMO_LOCALE
    )
    ws.ingest.run()
    with ws.engine.log_statements() as log:
        for stage in STAGES:
            getattr(ws, stage).run(**({"write_files": False} if stage == "personas" else {}))
    yield ws, log
    ws.close()


def test_the_stages_send_only_portable_sql(logged: tuple[Workspace, list[Statement]]) -> None:
    ws, log = logged
    engine = ws.engine
    bad = {
        s.text[:300]: reasons
        for s in log
        if s.origin in CHECKED
        and (reasons := duckdb_only(s.text, fragments=engine.fragments, functions=engine.macros))
    }
    origins = Counter(s.origin for s in log)
    with_fragments = sum(any(f in s.text for f in engine.fragments) for s in log)
    print(
        f"statements: {len(log)} ({len({s.text for s in log})} distinct), by origin {origins}; "
        f"{with_fragments} hold an engine fragment"
    )
    assert len(log) > 50 and origins["sql"] > 10 and origins["create_table"] > 10
    assert bad == {}


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        ("CREATE OR REPLACE TABLE t AS SELECT 1", "CREATE OR REPLACE"),
        ("DELETE FROM t WHERE a = 1", "DELETE"),
        ("CREATE TEMP MACRO f(x) AS x + 1", "macros"),
        ("SELECT hash(a) FROM t", "hash()"),
        ("SELECT date_diff('day', a, b) FROM t", "date_diff()"),
        ("SELECT row_number() OVER () AS n FROM t", "without ORDER BY"),
        ("SELECT list_filter(l, lambda x, i: i = 1) FROM t", "lambdas"),
        ("SELECT TRY_CAST(a AS INTEGER) FROM t", "TRY_CAST"),
        ("SELECT to_json(struct_pack(a := 1)) FROM t", "to_json"),
        ("SELECT quantile_cont(a, [0.5]) FROM t", "quantile_cont"),
        ("SELECT avg(CASE WHEN a THEN 1.0 ELSE 0.0 END) FROM t", "decimal literal"),
        ("SELECT regexp_replace(a, 'x', 'y') FROM t", "first match"),
        ("SELECT table_name FROM duckdb_tables()", "catalogue"),
        ("SELECT epoch(ts) FROM t", "epoch"),
        ("SELECT my_udf(a) FROM t", "does not know"),
        ("DESCRIBE t", "DESCRIBE"),
    ],
)
def test_the_check_finds_each_duckdb_only_construct(statement: str, reason: str) -> None:
    found = duckdb_only(statement)
    assert any(reason in r for r in found), found


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT a, avg(CASE WHEN b THEN 1 ELSE 0 END) FROM t GROUP BY a",
        "SELECT * FROM t QUALIFY row_number() OVER (PARTITION BY a ORDER BY b) = 1",
        "SELECT regexp_replace(a, '[ -]', '', 'g'), regexp_replace(a, '^00', '+') FROM t",
        "SELECT arg_min(a, b) FILTER (WHERE a IS NOT NULL), NULL::VARCHAR FROM t",
        "CREATE TABLE IF NOT EXISTS s (a VARCHAR, b DOUBLE[])",
        "SELECT norm_email(a) FROM t",
    ],
)
def test_what_sqlglot_translates_faithfully_passes(statement: str) -> None:
    assert duckdb_only(statement, functions={"norm_email"}) == []


def test_engine_fragments_are_not_counted_against_the_stage() -> None:
    fragment = "date_diff('day', a, b)"
    assert duckdb_only(f"SELECT {fragment} FROM t", fragments={fragment}) == []
