"""File schemas of the contract (docs/demo-data.md) and append-only writers for them."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ._types import SURVEY_ITEMS

S, D, F, I32, B = pa.string(), pa.date32(), pa.float64(), pa.int32(), pa.bool_()
TS = pa.timestamp("ms")


def _schema(*cols: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema(list(cols))


SOURCES: dict[str, pa.Schema | None] = {
    "crm_customers.csv": _schema(
        ("customer_id", S),
        ("first_name", S),
        ("last_name", S),
        ("email", S),
        ("phone", S),
        ("birth_date", D),
        ("gender", S),
        ("postcode", S),
        ("city", S),
        ("income_band", S),
        ("education", S),
        ("marital_status", S),
        ("job_title", S),
        ("signup_date", D),
        ("marketing_consent", B),
        ("loyalty_card", S),
    ),
    "loyalty_members.csv": _schema(
        ("card_number", S),
        ("first_name", S),
        ("last_name", S),
        ("email", S),
        ("phone", S),
        ("postcode", S),
        ("joined_date", D),
    ),
    "products.csv": _schema(
        ("product_id", S), ("product_name", S), ("category", S), ("price", F), ("unit_cost", F)
    ),
    "orders.parquet": _schema(
        ("order_id", S),
        ("account_id", S),
        ("email", S),
        ("order_ts", TS),
        ("channel", S),
        ("shipping_postcode", S),
        ("discount_code", S),
        ("subtotal", F),
        ("discount", F),
        ("total", F),
        ("status", S),
    ),
    "order_lines.parquet": _schema(
        ("order_id", S),
        ("line_no", I32),
        ("product_id", S),
        ("quantity", I32),
        ("unit_price", F),
        ("line_discount", F),
        ("returned", B),
    ),
    "pos_receipts.parquet": _schema(
        ("receipt_id", S),
        ("line_no", I32),
        ("store_id", S),
        ("loyalty_card", S),
        ("receipt_ts", TS),
        ("product_id", S),
        ("quantity", I32),
        ("unit_price", F),
        ("discount", F),
    ),
    "events.jsonl": None,
    "email_campaigns.csv": _schema(("campaign_id", S), ("name", S), ("theme", S), ("sent_date", D)),
    "email_events.csv": _schema(
        ("event_id", S), ("campaign_id", S), ("email", S), ("event_type", S), ("event_ts", S)
    ),
    "marketing_spend.csv": _schema(("month", S), ("channel", S), ("campaign_id", S), ("spend", F)),
    "first_touch.csv": _schema(
        ("customer_id", S), ("campaign_id", S), ("channel", S), ("touch_ts", S)
    ),
    "support_tickets.csv": _schema(
        ("ticket_id", S),
        ("email", S),
        ("created_ts", S),
        ("channel", S),
        ("topic", S),
        ("subject", S),
        ("body", S),
        ("satisfaction", I32),
    ),
    "reviews.csv": _schema(
        ("review_id", S),
        ("account_id", S),
        ("product_id", S),
        ("rating", I32),
        ("title", S),
        ("body", S),
        ("created_ts", S),
    ),
    "survey_responses.csv": _schema(
        ("response_id", S),
        ("email", S),
        ("submitted_ts", S),
        *[(q, I32) for q in SURVEY_ITEMS],
        ("open_answer", S),
    ),
}
EVENT_KEYS = (
    "type",
    "messageId",
    "anonymousId",
    "userId",
    "timestamp",
    "event",
    "traits",
    "properties",
    "context",
)
TRUTH: dict[str, pa.Schema] = {
    "persons.parquet": _schema(("person_id", S), ("type_id", I32), ("type", S)),
    "records.parquet": _schema(("source", S), ("record_id", S), ("person_id", S)),
}


class Sinks:
    """Opens each output file on first write and appends chunk after chunk."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.rows: dict[str, int] = {}
        self._open: dict[str, Any] = {}
        for sub in ("sources", "truth"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    def _path(self, name: str) -> Path:
        return self.root / ("truth" if name in TRUTH else "sources") / name

    def write(self, name: str, table: pa.Table) -> None:
        schema = TRUTH.get(name) or SOURCES[name]
        assert schema is not None
        table = table.select(schema.names).cast(schema)
        w = self._open.get(name)
        if w is None:
            if name.endswith(".csv"):
                w = pacsv.CSVWriter(
                    self._path(name),
                    schema,
                    write_options=pacsv.WriteOptions(quoting_style="needed"),
                )
            else:
                w = pq.ParquetWriter(self._path(name), schema, compression="zstd")
            self._open[name] = w
        w.write_table(table)
        self.rows[name] = self.rows.get(name, 0) + table.num_rows

    def write_bytes(self, name: str, data: bytes, rows: int) -> None:
        f: IO[bytes] | None = self._open.get(name)
        if f is None:
            f = open(self._path(name), "wb")  # noqa: SIM115 - closed in close()
            self._open[name] = f
        f.write(data)
        self.rows[name] = self.rows.get(name, 0) + rows

    def close(self) -> None:
        for name in list(SOURCES) + list(TRUTH):  # files that got no rows still exist
            if name in self._open:
                continue
            schema = TRUTH.get(name) or SOURCES[name]
            if schema is None:
                self.write_bytes(name, b"", 0)
            else:
                self.write(name, schema.empty_table())
        for w in self._open.values():
            w.close()
        self._open.clear()
