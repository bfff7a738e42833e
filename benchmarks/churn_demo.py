"""Churn risk against who really stops buying: the demo company cut off 180 days before
its last day, profiled as of the cut, then checked against the 180 days it never saw.

Every dated source is cut at T (orders and their lines, store receipts, events, e-mail
events, tickets, reviews, surveys, first touches, loyalty sign-ups, CRM sign-ups), so
the profiles know nothing after T. The label comes from the full data through the
generator's truth file: did the true person behind a resolved person make a purchase
in (T, T + 180 days]? Scored: ``churn_risk`` (1 - P(alive) of BG/NBD) and ``clv``.
Baseline: days since the last purchase alone, the rule of thumb churn risk must beat.

``ratio`` = (1 - our ROC AUC) / (1 - the baseline's): the share of the baseline's
ranking errors we still make (lower is better).

    .venv/bin/python benchmarks/churn_demo.py [--quick] [--customers 20000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path

import duckdb
import pandas as pd
from rich.console import Console
from rich.table import Table
from sklearn.metrics import roc_auc_score

HOLDOUT_DAYS = 180
# file -> its timestamp or date column (order lines follow their orders)
DATED = {
    "orders.parquet": "order_ts",
    "pos_receipts.parquet": "receipt_ts",
    "events.jsonl": "timestamp",
    "email_events.csv": "event_ts",
    "support_tickets.csv": "created_ts",
    "reviews.csv": "created_ts",
    "survey_responses.csv": "submitted_ts",
    "first_touch.csv": "touch_ts",
    "loyalty_members.csv": "joined_date",
    "crm_customers.csv": "signup_date",
}


def _read(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    if path.suffix == ".parquet":
        return f"read_parquet('{path}')"
    if path.suffix == ".jsonl":
        return f"read_json('{path}', format='newline_delimited', union_by_name=true)"
    return f"read_csv('{path}', all_varchar=true, header=true)"


def cut_sources(full: Path, cut: Path, at: dt.datetime) -> None:
    """Copy the demo's sources to ``cut`` with every row dated after ``at`` left out."""
    cut.mkdir(parents=True)
    con = duckdb.connect()
    for f in sorted(full.iterdir()):
        target = cut / f.name
        column = DATED.get(f.name)
        if column is None and f.name != "order_lines.parquet":
            shutil.copy(f, target)
            continue
        if f.name == "order_lines.parquet":
            kept = f"""SELECT l.* FROM read_parquet('{f}') l
                WHERE l.order_id IN (SELECT order_id FROM read_parquet('{full / "orders.parquet"}')
                                     WHERE CAST(order_ts AS TIMESTAMP) <= TIMESTAMP '{at}')"""
        elif f.suffix == ".jsonl":
            # events keep their original lines (nested context and properties intact)
            lines = f.read_text().splitlines()
            stamps = pd.to_datetime(
                pd.Series([json.loads(x).get("timestamp") for x in lines]), utc=True
            ).dt.tz_localize(None)
            keep = (stamps <= pd.Timestamp(at)).to_numpy()
            target.write_text("".join(x + "\n" for x, k in zip(lines, keep, strict=True) if k))
            continue
        else:
            kept = f"""SELECT * FROM {_read(con, f)}
                WHERE {column} IS NULL OR TRY_CAST({column} AS TIMESTAMP) <= TIMESTAMP '{at}'"""
        fmt = "(FORMAT parquet)" if f.suffix == ".parquet" else "(FORMAT csv, HEADER true)"
        con.sql(f"COPY ({kept}) TO '{target}' {fmt}")
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="5,000 customers")
    parser.add_argument("--customers", type=int)
    args = parser.parse_args()
    n = args.customers or (5_000 if args.quick else 20_000)

    from personify import Workspace
    from personify.cli import DEMO_LOCALE, demo_sources
    from personify.demo import generate_demo_company

    console = Console(width=110)
    with tempfile.TemporaryDirectory(prefix="personify-churn-") as tmp:
        root = Path(tmp)
        generate_demo_company(root / "data", customers=n, seed=42)
        full = root / "data" / "sources"
        orders = pd.read_parquet(full / "orders.parquet", columns=["order_ts"])
        last_day = pd.to_datetime(orders["order_ts"]).max().normalize()
        cut_at = (last_day - pd.Timedelta(days=HOLDOUT_DAYS)).to_pydatetime()
        cut_sources(full, root / "cut", cut_at)
        ws = Workspace.init(
            root / "ws", sources=demo_sources(str(root / "cut")), locale=DEMO_LOCALE
        )
        ws.config = ws.config.model_copy(update={"as_of": (cut_at + dt.timedelta(days=1)).date()})
        for stage in ("ingest", "identity", "profiles"):
            getattr(ws, stage).run()
        profiles = ws.engine.fetch_df(
            "SELECT person_id, churn_risk, clv, recency_days FROM profiles WHERE frequency > 0"
        )
        links = ws.engine.fetch_df("SELECT source, record_id, person_id FROM identity_links")
        ws.close()
        truth = pd.read_parquet(root / "data" / "truth" / "records.parquet")

        # resolved person -> the true person most of its records belong to
        joined = links.merge(truth, on=["source", "record_id"], suffixes=("", "_true"))
        majority = joined.groupby("person_id")["person_id_true"].agg(lambda s: s.mode().iloc[0])
        # true persons who bought in the holdout (orders and store receipts after T)
        later = []
        for source, file, column, key in (
            ("orders", "orders.parquet", "order_ts", "order_id"),
            ("pos_receipts", "pos_receipts.parquet", "receipt_ts", "receipt_id"),
        ):
            rows = pd.read_parquet(full / file, columns=[key, column])
            stamps = pd.to_datetime(rows[column])
            window = (stamps > pd.Timestamp(cut_at)) & (
                stamps <= pd.Timestamp(cut_at) + pd.Timedelta(days=HOLDOUT_DAYS)
            )
            ids = set(rows.loc[window, key].astype(str))
            later.append(truth[(truth["source"] == source) & truth["record_id"].isin(ids)])
        buyers = set(pd.concat(later)["person_id"])

    profiles["true_person"] = profiles["person_id"].map(majority)
    profiles = profiles.dropna(subset=["true_person", "churn_risk", "recency_days"])
    lapsed = ~profiles["true_person"].isin(buyers)
    auc = roc_auc_score(lapsed, profiles["churn_risk"])
    baseline = roc_auc_score(lapsed, profiles["recency_days"])
    clv_auc = roc_auc_score(~lapsed, profiles["clv"].fillna(0))
    deciles = pd.qcut(profiles["churn_risk"].rank(method="first"), 10, labels=False)
    by_decile = lapsed.groupby(deciles).mean()

    table = Table(title=f"Churn risk vs who stopped buying ({n:,} customers, {HOLDOUT_DAYS} days)")
    for col in ("score", "ROC AUC (lapsed)"):
        table.add_column(col, justify="right")
    table.add_row("churn_risk (1 - P(alive))", f"{auc:.4f}")
    table.add_row("days since last purchase (baseline)", f"{baseline:.4f}")
    table.add_row("clv (for 'buys again')", f"{clv_auc:.4f}")
    console.print(table)
    console.print(
        f"{len(profiles):,} customers at the cut, {int(lapsed.sum()):,} bought nothing in the "
        f"next {HOLDOUT_DAYS} days; lapsed share by churn-risk decile (low to high): "
        + ", ".join(f"{x:.2f}" for x in by_decile)
    )
    print(
        json.dumps(
            {
                "benchmark": "churn_demo",
                "baseline": "days since the last purchase",
                "customers": n,
                "scored": len(profiles),
                "lapsed": int(lapsed.sum()),
                "auc": round(float(auc), 4),
                "baseline_auc": round(float(baseline), 4),
                "clv_auc_buys_again": round(float(clv_auc), 4),
                "lapsed_share_by_decile": [round(float(x), 3) for x in by_decile],
                "ratio": round(float((1 - auc) / (1 - baseline)), 4),
            }
        )
    )


if __name__ == "__main__":
    main()
