import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from personify import SourceError

CRM = (
    "customer_id,email,birth_date,marketing_consent\n"
    "C1,a@x.com,1980-01-02,true\n"
    "C2,b@x.com,1985-13-45,false\n"  # line 3: impossible date
    "C3,c@x.com\n"  # line 4: too few fields
    ",d@x.com,1990-01-01,true\n"  # line 5: required id missing
    'C5,"e@x.com",1991-02-03,yes-ish\n'  # line 6: bad boolean
    "C6,f@x.com,1992-02-03,false\n"
)


def test_bad_csv_rows_are_quarantined_with_file_row_line_and_field(make_workspace) -> None:
    ws = make_workspace({"crm": ("customers", "crm.csv", CRM)}, crm={"max_bad_fraction": 0.9})
    result = ws.ingest.run()
    assert result.sources[0].rows_loaded == 2
    assert result.sources[0].rows_quarantined == 4
    loaded = ws.engine.fetch_df("SELECT customer_id, birth_date FROM raw_crm ORDER BY _row")
    assert loaded["customer_id"].tolist() == ["C1", "C6"]
    q = ws.engine.fetch_df("SELECT line, reason, record FROM quarantine ORDER BY line")
    assert q["line"].tolist() == [3, 4, 5, 6]
    reasons = q["reason"].tolist()
    assert reasons[0] == (
        "birth_date: expected a date (YYYY-MM-DD, or declare its format) (value kept in quarantine)"
    )
    assert "MISSING COLUMNS" in reasons[1]
    assert reasons[2] == "customer_id: required value is missing"
    assert reasons[3] == (
        "marketing_consent: expected true/false (map other values with 'values:'), got 'yes-ish'"
    )
    # The quarantined record is the row as it was in the file.
    assert json.loads(q["record"][0])["birth_date"] == "1985-13-45"
    assert q["record"][1] == "C3,c@x.com"
    assert "crm.csv row 2 (line 3): birth_date" in result.sources[0].examples[0]
    assert "1985" not in " ".join(result.sources[0].examples)


def test_missing_file_fails_before_anything_changes(make_workspace, tmp_path: Path) -> None:
    ws = make_workspace({"crm": ("customers", "crm.csv", "customer_id\nC1\n")})
    ws.ingest.run()
    before = ws.tables()
    (tmp_path / "crm.csv").unlink()
    with pytest.raises(SourceError, match=r"source 'crm': file not found: .*crm\.csv"):
        ws.ingest.run()
    assert ws.tables() == before
    assert ws.engine.count("raw_crm") == 1


def test_too_many_bad_rows_fail_the_whole_load_and_change_nothing(
    make_workspace, tmp_path: Path
) -> None:
    ws = make_workspace(
        {
            "crm": ("customers", "crm.csv", "customer_id,birth_date\nC1,1980-01-01\n"),
            "orders": ("orders", "orders.csv", "order_id,order_ts,total\nO1,2024-01-01,5\n"),
        }
    )
    ws.ingest.run()
    (tmp_path / "crm.csv").write_text("customer_id,birth_date\nC1,1980-01-01\nC2,1980-01-01\n")
    (tmp_path / "orders.csv").write_text(
        "order_id,order_ts,total\nO1,2024-01-01,five\nO2,2024-01-01,6\n"
    )
    with pytest.raises(SourceError) as info:
        ws.ingest.run()
    message = str(info.value)
    assert "source 'orders'" in message and "1 of 2 rows" in message
    assert "orders.csv row 1 (line 2): total: expected a number, got 'five'" in message
    # crm was loaded before orders failed, and was rolled back with it.
    assert ws.engine.count("raw_crm") == 1
    assert ws.engine.count("raw_orders") == 1
    assert ws.engine.count("quarantine") == 0


def test_declared_column_missing_from_file_is_named(make_workspace) -> None:
    ws = make_workspace(
        {"orders": ("orders", "o.csv", "order_id,order_ts,amount\nO1,2024-01-01,5\n")},
        orders={"columns": {"total": {"type": "number", "source": "grand_total"}}},
    )
    expected = r"o\.csv has no column 'grand_total'; its columns are: order_id, order_ts, amount"
    with pytest.raises(SourceError, match=expected):
        ws.ingest.run()
    assert not ws.engine.has_table("raw_orders")


def test_column_mapping_renames_and_types(make_workspace) -> None:
    ws = make_workspace(
        {"orders": ("orders", "o.csv", "id,ts,amount\nO1,2024-01-01T10:00:00,5.5\n")},
        orders={
            "columns": {
                "order_id": {"source": "id", "required": True},
                "order_ts": {"type": "timestamp", "source": "ts", "required": True},
                "total": {"type": "number", "source": "amount", "required": True},
            }
        },
    )
    ws.ingest.run()
    row = ws.engine.fetch_df("SELECT order_id, order_ts, total FROM raw_orders").iloc[0]
    assert row["order_id"] == "O1" and row["total"] == 5.5
    assert str(row["order_ts"]) == "2024-01-01 10:00:00"


def test_empty_file_is_an_error(make_workspace) -> None:
    ws = make_workspace({"crm": ("customers", "crm.csv", "customer_id,email\n")})
    with pytest.raises(SourceError, match="has no data rows"):
        ws.ingest.run()


def test_reload_replaces_rows_and_quarantine(make_workspace) -> None:
    ws = make_workspace({"crm": ("customers", "crm.csv", CRM)}, crm={"max_bad_fraction": 0.9})
    ws.ingest.run()
    ws.ingest.run()
    assert ws.engine.count("raw_crm") == 2
    assert ws.engine.count("quarantine") == 4
    assert ws.engine.count("load_batches") == 2


def test_jsonl_malformed_line_is_quarantined(make_workspace) -> None:
    lines = [
        json.dumps(
            {
                "type": "identify",
                "messageId": "m1",
                "userId": "A1",
                "timestamp": "2024-01-01T00:00:00",
                "traits": {"email": "a@x.com"},
            }
        ),
        '{"type": "page", "messageId": "m2", broken',
        json.dumps(
            {
                "type": "track",
                "messageId": "m3",
                "anonymousId": "anon",
                "timestamp": "2024-01-02T00:00:00",
                "event": "Product Viewed",
                "properties": {"price": 9.5, "category": "kitchen"},
            }
        ),
        json.dumps({"type": "page", "messageId": "m4", "timestamp": "not a time"}),
    ]
    ws = make_workspace(
        {"events": ("events", "e.jsonl", "\n".join(lines) + "\n")},
        events={"max_bad_fraction": 0.6},
    )
    ws.ingest.run()
    rows = ws.engine.fetch_df(
        "SELECT message_id, email, price, category FROM raw_events ORDER BY _row"
    )
    assert rows["message_id"].tolist() == ["m1", "m3"]
    assert rows["email"][0] == "a@x.com"
    assert rows["price"][1] == 9.5 and rows["category"][1] == "kitchen"
    q = ws.engine.fetch_df("SELECT line, reason FROM quarantine ORDER BY line")
    assert q["line"].tolist() == [2, 4]
    assert q["reason"][0] == "not a valid JSON object"
    assert q["reason"][1] == (
        "timestamp: expected a timestamp (YYYY-MM-DD HH:MM:SS, or declare its format), "
        "got 'not a time'"
    )


def test_parquet_source_is_cast_to_canonical_types(make_workspace, tmp_path: Path) -> None:
    table = pa.table(
        {
            "receipt_id": ["R1", "R1", "R2"],
            "receipt_ts": ["2024-01-01T09:00:00", "2024-01-01T09:00:00", "bad"],
            "quantity": [1, 2, 3],
            "unit_price": [2.5, 3.0, 1.0],
            "loyalty_card": ["LC1", "LC1", None],
        }
    )
    pq.write_table(table, tmp_path / "pos.parquet")
    ws = make_workspace(
        {"pos": ("pos_receipts", "pos.parquet", (tmp_path / "pos.parquet").read_bytes())},
        pos={"max_bad_fraction": 0.5},
    )
    ws.ingest.run()
    types = dict(
        ws.engine.sql("SELECT column_name, column_type FROM (DESCRIBE raw_pos)").fetchall()
    )
    assert types["receipt_ts"] == "TIMESTAMP" and types["quantity"] == "BIGINT"
    assert ws.engine.count("raw_pos") == 2
    assert ws.engine.scalar('SELECT "row" FROM quarantine') == 3


def test_typed_parquet_values_are_taken_as_they_are_and_checked_alike(
    make_workspace, tmp_path: Path
) -> None:
    """Timestamps with a zone, decimals, dates and integers stored typed: the same values
    (in UTC) and the same checks as when they come as text; a whole-number column
    stored as floating point still rejects 2.5."""
    table = pa.table(
        {
            "receipt_id": ["R1", "R2", "R3", "R4"],
            "receipt_ts": pa.array(
                [
                    dt.datetime(2024, 1, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
                    dt.datetime(2024, 1, 2, 10, 30, tzinfo=dt.UTC),
                    dt.datetime(1850, 1, 1, tzinfo=dt.UTC),
                    dt.datetime(2024, 1, 3, tzinfo=dt.UTC),
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "line_no": pa.array([1, 2, 1, 1], pa.int32()),
            "quantity": pa.array([1.0, 2.0, 1.0, 2.5], pa.float64()),
            "unit_price": pa.array(
                [Decimal("2.50"), Decimal("3.10"), Decimal("1.00"), Decimal("4.00")],
                pa.decimal128(10, 2),
            ),
        }
    )
    pq.write_table(table, tmp_path / "pos.parquet")
    ws = make_workspace(
        {"pos": ("pos_receipts", "pos.parquet", (tmp_path / "pos.parquet").read_bytes())},
        pos={"max_bad_fraction": 0.6},
    )
    ws.ingest.run()
    rows = ws.engine.sql(
        "SELECT receipt_id, receipt_ts, line_no, quantity, unit_price FROM raw_pos ORDER BY 1"
    ).fetchall()
    assert rows == [
        ("R1", dt.datetime(2024, 1, 1, 7, 0), 1, 1, 2.5),
        ("R2", dt.datetime(2024, 1, 2, 10, 30), 2, 2, 3.1),
    ]
    reasons = [
        r[0] for r in ws.engine.sql('SELECT reason FROM quarantine ORDER BY "row"').fetchall()
    ]
    assert reasons == [
        "receipt_ts: below the minimum 1900-01-01, got '1850-01-01 00:00:00+00'",
        "quantity: expected a whole number, got '2.5'",
    ]
