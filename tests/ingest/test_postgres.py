"""Database sources against a real PostgreSQL server (tests/support/postgres.py)."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from personify import SourceError, Workspace
from personify.config import DatabaseSpec
from personify.engine import DuckDBEngine
from personify.ingest._database import stage_database
from tests.support.postgres import PASSWORD, PostgresServer


@pytest.fixture(scope="module")
def shop_database(postgres_server: PostgresServer) -> str:
    return postgres_server.create_database("shop")


@pytest.fixture
def shop(shop_database: str) -> str:
    """The shop database emptied of every schema (quicker than a new database); its URL."""
    with psycopg.connect(shop_database, autocommit=True) as con:
        schemas = con.execute(
            """SELECT nspname FROM pg_namespace
            WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'"""
        ).fetchall()
        for (schema,) in schemas:
            con.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        con.execute("CREATE SCHEMA public")
    return shop_database


def run_sql(url: str, *statements: str, params: Any = None) -> None:
    with psycopg.connect(url, autocommit=True) as con:
        for statement in statements:
            con.execute(statement, params)  # type: ignore[arg-type]


@pytest.fixture
def db_workspace(tmp_path: Path) -> Callable[..., Workspace]:
    opened: list[Workspace] = []

    def make(**sources: dict[str, Any]) -> Workspace:
        ws = Workspace.init(tmp_path / "ws", sources=sources, overwrite=True)
        opened.append(ws)
        return ws

    yield make  # type: ignore[misc]
    for ws in opened:
        ws.close()


CUSTOMERS_DDL = """CREATE TABLE public.customers (
    id integer PRIMARY KEY, email text, birth text, consent boolean, score numeric(8, 2),
    ratio numeric, visits bigint, tags text[], prefs jsonb, seen timestamptz, born date,
    modified timestamptz NOT NULL)"""


def test_a_table_loads_with_its_values_and_types(shop: str, db_workspace) -> None:
    run_sql(
        shop,
        CUSTOMERS_DDL,
        """INSERT INTO customers VALUES
        (1, 'a@x.com', '1980-01-02', true, 12.50, 0.125, 3, '{gold,vip}', '{"lang": "fr"}',
         '2024-03-01 12:00:00+02', '1980-01-02', '2024-01-01 00:00:00+00'),
        (2, 'b@x.com', NULL, false, -3.05, NULL, NULL, '{}', '[1, 2]',
         NULL, NULL, '2024-01-02 00:00:00+00')""",
    )
    ws = db_workspace(
        crm={
            "kind": "customers",
            "database": {"url": shop, "table": "public.customers"},
            "columns": {"customer_id": {"source": "id"}, "birth_date": {"source": "birth"},
                        "marketing_consent": {"source": "consent"}},
        }
    )  # fmt: skip
    result = ws.ingest.run()
    assert result.sources[0].rows_loaded == 2
    assert PASSWORD not in result.sources[0].file
    got = ws.engine.sql(
        """SELECT customer_id, email, birth_date, marketing_consent, score, ratio, visits, tags,
                  prefs, seen, born FROM raw_crm ORDER BY _row"""
    ).fetchall()
    assert got == [
        ("1", "a@x.com", dt.date(1980, 1, 2), True, Decimal("12.50"), 0.125, 3, "{gold,vip}",
         '{"lang": "fr"}', dt.datetime(2024, 3, 1, 10, 0), dt.date(1980, 1, 2)),  # UTC
        ("2", "b@x.com", None, False, Decimal("-3.05"), None, None, "{}", "[1, 2]", None, None),
    ]  # fmt: skip
    types = dict(
        ws.engine.sql("SELECT column_name, column_type FROM (DESCRIBE raw_crm)").fetchall()
    )
    assert types["customer_id"] == "VARCHAR"  # the kind's type, whatever the database's
    assert types["score"] == "DECIMAL(8,2)"  # numeric(p, s) stays exact
    assert types["ratio"] == "DOUBLE"  # numeric without a precision
    assert types["visits"] == "BIGINT"
    assert types["tags"] == types["prefs"] == "VARCHAR"  # arrays and json as text
    assert types["seen"] == "TIMESTAMP"
    assert types["born"] == "DATE"


def test_quoted_schema_and_table_names_are_read_as_identifiers(shop: str) -> None:
    run_sql(
        shop,
        'CREATE SCHEMA "Sales"',
        'CREATE TABLE "Sales"."Order List" ("Order Id" text, "total ""gross""" numeric(6, 2))',
        """INSERT INTO "Sales"."Order List" VALUES ('O1', 5.25)""",
    )
    engine = DuckDBEngine(":memory:")
    spec = DatabaseSpec(url=shop, table="Sales.Order List")
    staged = stage_database(engine, spec, "orders")
    assert staged.fields == ["Order Id", 'total "gross"']
    got = engine.sql(f'SELECT "Order Id", "total ""gross""", _row, _line FROM {staged.table}')
    assert got.fetchall() == [("O1", Decimal("5.25"), 1, None)]


def test_a_query_is_loaded_as_a_subquery(shop: str, db_workspace) -> None:
    run_sql(
        shop,
        "CREATE TABLE ads (month text, channel text, cost numeric(10, 2), note text)",
        """INSERT INTO ads VALUES ('2024-01', 'search', 10.50, 'q1%'),
           ('2024-01', 'search', 4.25, 'q1%'), ('2024-01', 'social', 7, 'x'),
           ('2024-02', 'search', 1, 'y')""",
    )
    # A literal '%', a trailing semicolon or a trailing comment must not break the wrapping.
    query = """SELECT month, channel, sum(cost) AS spend FROM ads
               WHERE note LIKE '%' GROUP BY 1, 2 ORDER BY 1, 2"""
    ws = db_workspace(
        spend={"kind": "marketing_spend", "database": {"url": shop, "query": query + ";\n"}},
        spend2={"kind": "marketing_spend", "database": {"url": shop, "query": query + " -- c"}},
    )
    ws.ingest.run()
    expected = [
        ("2024-01", "search", 14.75),
        ("2024-01", "social", 7.0),
        ("2024-02", "search", 1.0),
    ]
    for table in ("raw_spend", "raw_spend2"):
        got = ws.engine.sql(f"SELECT month, channel, spend FROM {table} ORDER BY _row").fetchall()
        assert got == expected


def test_the_url_takes_environment_variables(shop: str, db_workspace, monkeypatch) -> None:
    run_sql(shop, "CREATE TABLE ads (month text, spend int)", "INSERT INTO ads VALUES ('m', 1)")
    monkeypatch.setenv("SHOP_DB_URL", shop)
    ws = db_workspace(
        spend={"kind": "marketing_spend", "database": {"url": "${SHOP_DB_URL}", "table": "ads"}}
    )
    assert ws.ingest.run().rows_loaded == 1
    monkeypatch.delenv("SHOP_DB_URL")
    with pytest.raises(SourceError, match=r"\$\{SHOP_DB_URL\}.*not set"):
        ws.ingest.run()


def _load_error(url: str, **spec: Any) -> str:
    with pytest.raises(SourceError) as caught:
        stage_database(DuckDBEngine(":memory:"), DatabaseSpec(url=url, **spec), "crm")
    return str(caught.value)


def test_errors_name_the_source_and_never_the_password(
    shop: str, postgres_server: PostgresServer
) -> None:
    run_sql(shop, "CREATE TABLE customers (id int, modified timestamptz)")
    missing = _load_error(shop, table="public.nope")
    assert missing.startswith("source 'crm': cannot read table public.nope from postgresql://")
    assert 'relation "public.nope" does not exist' in missing

    no_column = _load_error(shop, table="customers", updated_at="changed")
    assert "no column 'changed' (updated_at); its columns: ['id', 'modified']" in no_column

    bad_query = _load_error(shop, query="SELEC id FROM customers")
    assert "cannot read the query" in bad_query and "syntax error" in bad_query

    wrong = shop.replace(PASSWORD, "wrong-pw-42")
    refused = _load_error(wrong, table="customers")
    assert "source 'crm': cannot connect to postgresql://personify@127.0.0.1:" in refused
    assert "password authentication failed" in refused

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    unreachable = _load_error(
        f"postgresql://personify:{PASSWORD}@127.0.0.1:{closed}/shop", table="customers"
    )
    assert f"cannot connect to postgresql://personify@127.0.0.1:{closed}/shop" in unreachable
    assert "refused" in unreachable.lower()

    for message in (missing, no_column, bad_query, refused, unreachable):
        assert PASSWORD not in message and "wrong-pw-42" not in message


def _crm(url: str, **database: Any) -> dict[str, Any]:
    return {
        "kind": "customers",
        "database": {"url": url, "table": "customers", "updated_at": "modified", **database},
        "columns": {"customer_id": {"source": "id"}, "birth_date": {"source": "birth"}},
    }


def _raw(ws: Workspace) -> list[tuple[Any, ...]]:
    return ws.engine.sql(
        "SELECT customer_id, email, birth_date, _batch_id FROM raw_crm ORDER BY customer_id"
    ).fetchall()


def test_an_incremental_load_replaces_changed_records_and_appends_new_ones(
    shop: str, db_workspace
) -> None:
    run_sql(
        shop,
        CUSTOMERS_DDL,
        """INSERT INTO customers (id, email, birth, modified)
        SELECT i, 'c' || i || '@x.com', '1990-01-01',
               timestamptz '2024-01-01 00:00+00' + i * interval '1 hour'
        FROM generate_series(10, 49) i""",
        # One bad row: quarantined, within the default 5% tolerance.
        "UPDATE customers SET birth = 'not a date' WHERE id = 20",
    )
    ws = db_workspace(crm=_crm(shop))
    first = ws.ingest.run()
    assert (first.rows_loaded, first.rows_quarantined) == (39, 1)
    # Latest modified = 2024-01-01 00:00 + 49 h, in UTC (the marks are checked below).
    before = {r[0]: r for r in _raw(ws)}

    run_sql(
        shop,
        """UPDATE customers SET email = 'new' || id || '@x.com',
               modified = timestamptz '2024-06-01 00:00+00' WHERE id IN (11, 12, 13)""",
        """UPDATE customers SET birth = '1991-02-03',
               modified = timestamptz '2024-06-01 00:00+00' WHERE id = 20""",
        """INSERT INTO customers (id, email, birth, modified) VALUES
           (50, 'c50@x.com', '1990-01-01', '2024-06-02 00:00+00'),
           (51, 'c51@x.com', '1990-01-01', '2024-06-02 00:00+00')""",
    )
    second = ws.ingest.run()
    assert (second.rows_loaded, second.rows_quarantined) == (6, 0)
    assert second.sources[0].mode == "incremental"
    assert second.sources[0].rows_replaced == 3  # 11, 12, 13; record 20 was in quarantine
    after = {r[0]: r for r in _raw(ws)}
    assert len(after) == 42 == ws.engine.count("raw_crm")  # no record twice
    changed = {"11", "12", "13", "20", "50", "51"}
    for cid in set(before) - changed:
        assert after[cid] == before[cid]  # untouched, still from the first batch
    assert [after[c][1] for c in ("11", "12", "13")] == [
        "new11@x.com",
        "new12@x.com",
        "new13@x.com",
    ]
    assert after["20"][2] == dt.date(1991, 2, 3)
    assert {after[c][3] for c in changed} == {second.batch_id}
    # The fixed record's quarantined version is superseded.
    assert ws.engine.count("quarantine") == 0

    third = ws.ingest.run()  # nothing changed since: a no-op
    assert third.rows_loaded == 0
    assert {r[0]: r for r in _raw(ws)} == after
    marks = ws.engine.sql("SELECT rows_loaded, watermark FROM load_batches ORDER BY seq").fetchall()
    assert marks == [
        (39, "2024-01-03T01:00:00+00:00"),
        (6, "2024-06-02T00:00:00+00:00"),
        (0, "2024-06-02T00:00:00+00:00"),
    ]


def test_small_batches_give_the_same_rows_in_the_same_order_as_one(shop: str) -> None:
    run_sql(
        shop,
        "CREATE TABLE t (id int, label text, modified date)",
        # Ten rows share each date: the order must fall back on the other columns.
        """INSERT INTO t SELECT i, 'L' || (i * 7919 % 1000),
               date '2024-01-01' + (i * 37 % 100)
        FROM generate_series(1, 1000) i""",
    )
    results = []
    for batch_rows in (100, 5000):
        engine = DuckDBEngine(":memory:")
        spec = DatabaseSpec(url=shop, table="t", updated_at="modified", batch_rows=batch_rows)
        staged = stage_database(engine, spec, "t")
        rows = engine.sql(f"SELECT id, label, modified, _row FROM {staged.table} ORDER BY _row")
        results.append(rows.fetchall())
        assert staged.watermark == "2024-04-09"  # 2024-01-01 + 99 days
    small, whole = results
    assert small == whole
    assert [r[3] for r in small] == list(range(1, 1001))
    # Stable order worked out independently: by modified, then by each column in turn.
    expected = sorted(
        (dt.date(2024, 1, 1) + dt.timedelta(days=i * 37 % 100), i, f"L{i * 7919 % 1000}")
        for i in range(1, 1001)
    )
    assert [(r[2], r[0], r[1]) for r in small] == expected


def test_a_workspace_with_database_sources_runs_from_personify_yaml(
    shop: str, tmp_path: Path, monkeypatch
) -> None:
    run_sql(
        shop,
        CUSTOMERS_DDL,
        """INSERT INTO customers (id, email, modified)
        SELECT i, 'c' || i || '@x.com', timestamptz '2024-01-01 00:00+00' + i * interval '1 day'
        FROM generate_series(1, 30) i""",
        "CREATE TABLE ads (month text, channel text, cost numeric(10, 2))",
        "INSERT INTO ads VALUES ('2024-01', 'search', 5), ('2024-01', 'search', 2.5)",
    )
    monkeypatch.setenv("SHOP_DB_URL", shop)
    (tmp_path / "orders.csv").write_text("order_id,order_ts,total\nO1,2024-01-02,9.5\n")
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "personify.yaml").write_text(
        f"""version: 1
sources:
  crm:
    kind: customers
    database: {{url: "${{SHOP_DB_URL}}", table: public.customers, updated_at: modified}}
    columns: {{customer_id: {{source: id}}}}
  spend:
    kind: marketing_spend
    database:
      url: "${{SHOP_DB_URL}}"
      query: "SELECT month, channel, sum(cost) AS spend FROM ads GROUP BY 1, 2"
  orders:
    kind: orders
    path: {tmp_path / "orders.csv"}
"""
    )
    with Workspace(folder) as ws:
        result = ws.ingest.run()
        assert {s.source: s.rows_loaded for s in result.sources} == {
            "crm": 30,
            "spend": 1,
            "orders": 1,
        }
        assert ws.engine.sql("SELECT spend FROM raw_spend").fetchall() == [(7.5,)]
        run_sql(shop, "UPDATE customers SET email = 'z@x.com', modified = now() WHERE id = 3")
        again = ws.ingest.run(sources=["crm"])
        assert again.rows_loaded == 1
        assert ws.engine.count("raw_crm") == 30
        assert ws.engine.sql("SELECT email FROM raw_crm WHERE customer_id = '3'").fetchall() == [
            ("z@x.com",)
        ]
