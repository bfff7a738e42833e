"""Each engine method gives the same answer on DuckDB and on Spark (local mode), for the
pitfalls where the engines' own SQL differs. Expected values are worked out by hand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from personify.engine import DuckDBEngine, Engine
from personify.engine._spark import SparkEngine
from personify.errors import WorkspaceError

pytestmark = pytest.mark.slow


@pytest.fixture(params=["duckdb", "spark"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    eng: Engine
    if request.param == "duckdb":
        eng = DuckDBEngine(tmp_path / "t.duckdb")
    else:
        eng = SparkEngine(tmp_path / "tables", master="local[2]")
    yield eng
    eng.close()


def test_days_between_counts_calendar_days(engine: Engine) -> None:
    # 23:00 to 01:00 the next day: 1 calendar day, though only 2 hours (Spark's own
    # datediff(DAY, ...) says 0).
    got = engine.scalar(
        "SELECT "
        + engine.days_between("TIMESTAMP '2024-01-01 23:00'", "TIMESTAMP '2024-01-02 01:00'")
    )
    assert got == 1


@pytest.mark.parametrize(("as_of", "age"), [(dt.date(2024, 2, 29), 23), (dt.date(2024, 3, 1), 24)])
def test_age_is_full_years(engine: Engine, as_of: dt.date, age: int) -> None:
    birth = "DATE '2000-03-01'"
    assert engine.scalar(f"SELECT {engine.age_years(birth, as_of)}") == age


def test_create_table_replaces_and_temp_tables_are_not_listed(engine: Engine) -> None:
    engine.create_table("t", "SELECT 1 AS a")
    engine.create_table("t", "SELECT 2 AS a UNION ALL SELECT 3")
    engine.create_table("_tmp", "SELECT a FROM t", temp=True)
    assert sorted(r[0] for r in engine.sql("SELECT a FROM _tmp").fetchall()) == [2, 3]
    assert engine.list_tables() == ["t"]
    engine.drop_table("_tmp")
    engine.drop_table("_tmp")  # dropping what is gone is no error
    engine.rename_table("t", "u")
    assert engine.list_tables() == ["u"] and engine.columns("u") == ["a"]


def test_delete_rows_keeps_the_others_and_null_conditions(engine: Engine) -> None:
    engine.create_table("t", "SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (3, NULL)) AS v(n, s)")
    engine.delete_rows("t", "s = ?", ["a"])
    # s = 'a' is NULL for row 3: NULL is not true, the row stays.
    assert sorted(r[0] for r in engine.sql("SELECT n FROM t").fetchall()) == [2, 3]


def test_macros_expand_and_call_each_other(engine: Engine) -> None:
    engine.define_macro("clean", ["e"], "lower(trim(e))")
    engine.define_macro("domain", ["e"], "split_part(clean(e), '@', 2)")
    assert engine.sql("SELECT domain('  Jo@Example.COM '), clean(NULL)").fetchall() == [
        ("example.com", None)
    ]


def test_index_of_min_counts_from_one_and_takes_the_first_tie(engine: Engine) -> None:
    smallest_second = engine.index_of_min(["3.0", "1.0", "2.0"])
    tie = engine.index_of_min(["2", "1", "1"])
    got = engine.sql(f"SELECT {smallest_second}, {tie}").fetchall()
    assert got == [(2, 2)]


def test_quantiles_interpolate_exactly(engine: Engine) -> None:
    got = engine.scalar(
        f"SELECT {engine.quantiles('x', [0.25, 0.5, 0.75])} "
        "FROM (VALUES (1), (2), (3), (10)) AS v(x)"
    )
    # positions 0.75, 1.5, 2.25 between 1, 2, 3, 10
    assert list(got) == [1.75, 2.5, 4.75]


def test_epoch_seconds_keep_the_fraction(engine: Engine) -> None:
    ts = "TIMESTAMP '2020-01-01 00:00:01.5'"
    got = engine.scalar(f"SELECT {engine.epoch_seconds(ts)}")
    assert got == 1577836801.5  # 18262 days * 86400 + 1.5


@pytest.mark.parametrize(
    ("utc", "local"),
    [
        # Berlin is UTC+1 in winter, UTC+2 from 02:00 on the last Sunday of March (by hand)
        ("2025-01-15 13:05:00", dt.datetime(2025, 1, 15, 14, 5)),
        ("2025-07-15 12:05:00", dt.datetime(2025, 7, 15, 14, 5)),
        ("2024-12-31 23:30:00", dt.datetime(2025, 1, 1, 0, 30)),  # another day, another year
        ("2025-03-30 01:30:00", dt.datetime(2025, 3, 30, 3, 30)),
    ],
)
def test_local_time_is_the_zones_wall_clock(engine: Engine, utc: str, local: dt.datetime) -> None:
    ts = f"TIMESTAMP '{utc}'"
    got = engine.scalar(f"SELECT {engine.local_time(ts, 'Europe/Berlin')}")
    assert got == local


def test_sample_key_orders_alike_on_every_engine(engine: Engine) -> None:
    got = engine.sql(
        f"SELECT x FROM (VALUES ('a'), ('b'), ('c')) AS v(x) ORDER BY {engine.sample_key('x')}"
    ).fetchall()
    # md5: a -> 0cc1..., b -> 92eb..., c -> 4a8a...
    assert [r[0] for r in got] == ["a", "c", "b"]


def test_an_integer_average_is_a_double(engine: Engine) -> None:
    # The portable form of a share: a decimal 1.0 would make Spark round to 0.66667.
    got = engine.scalar(
        "SELECT avg(CASE WHEN x THEN 1 ELSE 0 END) FROM (VALUES (true), (true), (false)) AS v(x)"
    )
    assert got == pytest.approx(2 / 3, rel=1e-15)


def test_row_hash_tells_null_from_empty_and_places(engine: Engine) -> None:
    h, a, empty = engine.row_hash, "'a'", "''"
    got = engine.sql(
        f"SELECT {h('NULL', a)}, {h(a, 'NULL')}, {h(empty, a)}, {h('NULL', a)}"
    ).fetchone()
    assert got is not None
    assert len({got[0], got[1], got[2]}) == 3 and got[0] == got[3]


def test_a_failed_transaction_leaves_every_table_as_it_was(engine: Engine) -> None:
    engine.create_table("t", "SELECT 1 AS a")
    with pytest.raises(RuntimeError), engine.transaction():
        engine.create_table("t", "SELECT 2 AS a")
        engine.create_table("new", "SELECT 1 AS b")
        engine.sql("CREATE TABLE IF NOT EXISTS runs (id VARCHAR, k INTEGER)")
        raise RuntimeError("stage failed")
    assert engine.list_tables() == ["t"] and engine.scalar("SELECT a FROM t") == 1
    with engine.transaction():
        engine.sql("CREATE TABLE IF NOT EXISTS runs (id VARCHAR, k INTEGER, r VARCHAR[])")
        engine.sql("INSERT INTO runs VALUES (?, ?, ?)", ["r1", 3, ["x", "y"]])
    assert engine.sql("SELECT id, k, r FROM runs").fetchall() == [("r1", 3, ["x", "y"])]


def test_spark_tables_outlive_the_engine(tmp_path: Path) -> None:
    first = SparkEngine(tmp_path / "tables", master="local[2]")
    first.create_table("kept", "SELECT 'x' AS v")
    with pytest.raises(RuntimeError), first.transaction():
        first.create_table("lost", "SELECT 1 AS v")
        raise RuntimeError
    first.close()
    again = SparkEngine(tmp_path / "tables", master="local[2]")
    assert again.list_tables() == ["kept"] and again.scalar("SELECT v FROM kept") == "x"
    again.close()


def test_python_functions_and_arrow_appends(engine: Engine) -> None:
    engine.register_scalar_function(
        "shout", lambda a: pc.utf8_upper(a), parameters=["VARCHAR"], returns="VARCHAR"
    )
    engine.create_table("t", "SELECT CAST('a' AS VARCHAR) AS s WHERE false")
    engine.append_arrow("t", pa.table({"s": ["ab", None]}))
    got = engine.sql("SELECT shout(s) FROM t ORDER BY s NULLS LAST").fetchall()
    assert got == [("AB",), (None,)]
    assert engine.column_types("t") == [("s", "VARCHAR")]


def test_errors_name_the_failure_not_a_java_trace(engine: Engine) -> None:
    with pytest.raises(WorkspaceError, match="the engine failed"):
        engine.sql("SELECT * FROM no_such_table").fetchall()
