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


def _ids(ws: Workspace) -> dict[str, tuple[Any, ...]]:
    return {r[0]: r for r in _raw(ws)}


def test_records_deleted_in_the_database_leave_raw_and_quarantine(shop: str, db_workspace) -> None:
    run_sql(
        shop,
        CUSTOMERS_DDL,
        """INSERT INTO customers (id, email, birth, modified)
        SELECT i, 'c' || i || '@x.com', '1990-01-01',
               timestamptz '2024-01-01 00:00+00' + i * interval '1 day'
        FROM generate_series(1, 6) i""",
        "UPDATE customers SET birth = 'not a date' WHERE id = 6",  # quarantined
    )
    ws = db_workspace(crm=_crm(shop, batch_rows=100) | {"max_bad_fraction": 0.5})
    first = ws.ingest.run()
    assert (first.rows_loaded, first.rows_quarantined, first.sources[0].rows_deleted) == (5, 1, 0)
    before = _ids(ws)

    run_sql(
        shop,
        "DELETE FROM customers WHERE id IN (3, 6)",
        """UPDATE customers SET email = 'new2@x.com', modified = '2024-06-01 00:00+00'
        WHERE id = 2""",
    )
    second = ws.ingest.run()
    load = second.sources[0]
    assert (load.mode, load.rows_loaded, load.rows_replaced, load.rows_deleted) == (
        "incremental",
        1,
        1,
        1,  # record 3; record 6 was only in quarantine
    )
    after = _ids(ws)
    assert set(after) == {"1", "2", "4", "5"}
    for cid in ("1", "4", "5"):
        assert after[cid] == before[cid]  # untouched, still from the first batch
    assert after["2"][1] == "new2@x.com"
    assert ws.engine.count("quarantine") == 0  # record 6 is gone from the database
    deleted = ws.engine.sql("SELECT rows_deleted FROM load_batches ORDER BY seq").fetchall()
    assert deleted == [(0,), (1,)]

    third = ws.ingest.run()  # nothing deleted since
    assert third.sources[0].rows_deleted == 0
    assert set(_ids(ws)) == {"1", "2", "4", "5"}


def test_a_query_source_loses_the_records_that_leave_its_result(shop: str, db_workspace) -> None:
    run_sql(
        shop,
        "CREATE TABLE people (id int, email text, active boolean, modified timestamp)",
        """INSERT INTO people SELECT i, 'p' || i || '@x.com', true,
               timestamp '2024-01-01' + i * interval '1 hour'
        FROM generate_series(1, 5) i""",
    )
    ws = db_workspace(
        crm={
            "kind": "customers",
            "database": {
                "url": shop,
                # A '%' literal: read as it is, whether the read has parameters or not.
                "query": "SELECT id, email, '100%' AS note, modified FROM people WHERE active",
                "updated_at": "modified",
            },
            # The record id is built from the row: the deletion check builds it alike.
            "columns": {"customer_id": {"expr": "'P-' || id"}},
        }
    )
    ws.ingest.run()
    run_sql(
        shop,
        "UPDATE people SET active = false WHERE id = 4",  # leaves the query's result
        "DELETE FROM people WHERE id = 1",
        "INSERT INTO people VALUES (6, 'p6@x.com', true, '2024-02-01')",
    )
    second = ws.ingest.run().sources[0]
    assert (second.rows_loaded, second.rows_deleted) == (1, 2)
    got = ws.engine.sql("SELECT customer_id, note FROM raw_crm ORDER BY customer_id").fetchall()
    assert got == [("P-2", "100%"), ("P-3", "100%"), ("P-5", "100%"), ("P-6", "100%")]


def test_a_row_committed_late_below_the_watermark_is_read_within_the_lookback(
    shop: str, db_workspace
) -> None:
    run_sql(
        shop,
        CUSTOMERS_DDL,
        """INSERT INTO customers (id, email, modified)
        SELECT i, 'c' || i || '@x.com', timestamptz '2024-01-01 00:00+00' + i * interval '1 hour'
        FROM generate_series(1, 10) i""",
    )
    ws = db_workspace(crm=_crm(shop, lookback="2 hours"))
    ws.ingest.run()  # watermark: 2024-01-01 10:00 UTC (id 10)
    # Committed after that load, stamped before its watermark (a long transaction).
    run_sql(shop, "INSERT INTO customers (id, email, modified) VALUES (11, 'late@x.com', "
                  "'2024-01-01 09:59+00')")  # fmt: skip
    second = ws.ingest.run().sources[0]
    # Read again: rows after 08:00 UTC, so ids 9 and 10 (unchanged) and the late 11.
    assert (second.rows_loaded, second.rows_unchanged, second.rows_replaced) == (1, 2, 0)
    assert ws.engine.sql("SELECT email FROM raw_crm WHERE customer_id = '11'").fetchall() == [
        ("late@x.com",)
    ]
    assert ws.engine.count("raw_crm") == 11
    # The newest row gone, the newest read (09:59) is below the old watermark: it stays.
    run_sql(shop, "DELETE FROM customers WHERE id = 10")
    third = ws.ingest.run().sources[0]
    assert (third.rows_loaded, third.rows_unchanged, third.rows_deleted) == (0, 2, 1)
    marks = ws.engine.sql("SELECT watermark FROM load_batches ORDER BY seq").fetchall()
    assert marks == [("2024-01-01T10:00:00+00:00",)] * 3


def test_without_a_lookback_a_late_row_is_missed(shop: str, db_workspace) -> None:
    run_sql(
        shop,
        "CREATE TABLE customers (id int, modified timestamp)",
        "INSERT INTO customers VALUES (1, '2024-01-01 10:00')",
    )
    ws = db_workspace(crm=_crm(shop, lookback=0) | {"columns": {"customer_id": {"source": "id"}}})
    ws.ingest.run()
    run_sql(shop, "INSERT INTO customers VALUES (2, '2024-01-01 09:59')")
    assert ws.ingest.run().rows_loaded == 0  # what the lookback is for
    assert ws.engine.count("raw_crm") == 1


def test_a_transaction_committing_after_a_load_is_seen_by_the_next(shop: str, db_workspace) -> None:
    run_sql(
        shop,
        """CREATE TABLE customers (id int PRIMARY KEY, email text,
           modified timestamptz NOT NULL DEFAULT now())""",
        "INSERT INTO customers (id, email) VALUES (1, 'a@x.com')",
    )
    ws = db_workspace(crm=_crm(shop) | {"columns": {"customer_id": {"source": "id"}}})
    ws.ingest.run()
    with psycopg.connect(shop) as slow:  # begins a transaction: now() is fixed from here
        slow.execute("SELECT now()")
        slow.execute("INSERT INTO customers (id, email) VALUES (2, 'slow@x.com')")
        # Another writer commits a row stamped later; a load reads it, not the slow one.
        run_sql(shop, "INSERT INTO customers (id, email) VALUES (3, 'quick@x.com')")
        during = ws.ingest.run().sources[0]
        assert during.rows_loaded == 1
        slow.commit()
    after = ws.ingest.run().sources[0]  # the default lookback (15 minutes) reaches row 2
    # Rows 1 and 3, stamped seconds before, are read again and known unchanged.
    assert (after.rows_loaded, after.rows_unchanged) == (1, 2)
    assert sorted(r[0] for r in ws.engine.sql("SELECT customer_id FROM raw_crm").fetchall()) == [
        "1",
        "2",
        "3",
    ]


def test_a_date_watermark_reads_its_own_day_again(shop: str) -> None:
    run_sql(
        shop,
        "CREATE TABLE t (id int, modified date)",
        "INSERT INTO t VALUES (1, '2024-04-08'), (2, '2024-04-09'), (3, '2024-04-10')",
    )
    engine = DuckDBEngine(":memory:")
    spec = DatabaseSpec(url=shop, table="t", updated_at="modified", lookback="5 minutes")
    staged = stage_database(engine, spec, "t", since="2024-04-09")
    ids = engine.sql(f"SELECT id FROM {staged.table} ORDER BY id").fetchall()
    assert ids == [(2,), (3,)]  # a row of 04-09 written after the last load is not missed
    assert staged.watermark == "2024-04-10"


def test_a_quarantined_row_read_again_unchanged_stays_in_quarantine(
    shop: str, db_workspace
) -> None:
    run_sql(
        shop,
        CUSTOMERS_DDL,
        """INSERT INTO customers (id, email, birth, modified)
        SELECT i, 'c' || i || '@x.com', '1990-01-01',
               timestamptz '2024-01-01 00:00+00' + i * interval '1 hour'
        FROM generate_series(1, 20) i""",
        "UPDATE customers SET birth = 'not a date' WHERE id = 20",  # the newest row
    )
    ws = db_workspace(crm=_crm(shop) | {"max_bad_fraction": 0.1})
    assert ws.ingest.run().rows_quarantined == 1
    again = ws.ingest.run().sources[0]  # row 20 is within the lookback: read again
    assert (again.rows_loaded, again.rows_quarantined, again.rows_unchanged) == (0, 0, 1)
    reasons = ws.engine.sql("SELECT reason FROM quarantine").fetchall()
    assert len(reasons) == 1 and reasons[0][0].startswith("birth_date:")


def test_the_ingest_command_reports_deleted_records(shop: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from personify.cli import app

    run_sql(
        shop,
        "CREATE TABLE customers (id int, modified timestamp)",
        "INSERT INTO customers SELECT i, timestamp '2024-01-01' + i * interval '1 day' "
        "FROM generate_series(1, 4) i",
    )
    source = _crm(shop) | {"columns": {"customer_id": {"source": "id"}}}
    Workspace.init(tmp_path / "ws", sources={"crm": source}).close()
    runner = CliRunner()

    def crm_row() -> dict[str, str]:
        result = runner.invoke(app, ["ingest", "-w", str(tmp_path / "ws")])
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        (header,) = [ln for ln in lines if "rows loaded" in ln]
        (row,) = [ln for ln in lines if ln.strip("│┃ ").startswith("crm")]
        names = [c.strip() for c in header.strip("┃│ ").split("┃")]
        return dict(zip(names, [c.strip() for c in row.strip("│ ").split("│")], strict=True))

    assert crm_row()["deleted"] == "0"
    run_sql(shop, "DELETE FROM customers WHERE id = 2")
    second = crm_row()
    assert (second["load"], second["rows loaded"], second["deleted"]) == ("incremental", "0", "1")
