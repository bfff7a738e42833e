"""The profile stage at scale: every profile attribute for the demo company's customers on
this machine, time and peak memory, against a straightforward pandas implementation of
the core purchase features in the same run.

Both read the same ingested, identity-resolved workspace: ours runs ``ws.profiles.run()``
(every attribute group, the CLV, churn, cross-sell, upsell and trait models); the
baseline reads the purchase tables and identity links (exported to Parquet beforehand,
not timed) with pandas and computes frequency, revenue, average basket, recency, tenure,
channel and discount shares, revenue in the last 12 months, return rate and category
shares per person. Each runs in its own process, so its peak RSS is its own. The two
agree on frequency and revenue for every person (checked and reported).

``ratio`` = our profile stage's seconds / the pandas baseline's (lower is better; the
issue's aim is at most 0.2 at 1,000,000 customers, under 8 GB).

    .venv/bin/python benchmarks/profiles_scale.py [--quick] [--customers 1000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

STEP_NOTES = {
    "setup": "reference date, catalogue",
    "purchases": "lifetime value: BG/NBD + Gamma-Gamma fit, scoring",
    "items and categories": "cross-sell and upsell models",
    "engagement": "behaviour and interest queries prepared",
    "what customers write": "voice: clean, sentiment, scrub, themes",
    "profiles": "every attribute group in one SQL statement",
    "churn model": "supervised churn (declared label only)",
    "traits inferred from behaviour": "a model per survey scale",
}
EXPORTED = ("identity_links", "raw_orders", "raw_order_lines", "raw_pos_receipts", "raw_products")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child_prepare(data: Path, workspace: Path, customers: int) -> dict:
    """Generate, ingest and resolve identities; export what the baseline reads."""
    from personify import Workspace
    from personify.cli import DEMO_LOCALE, demo_sources
    from personify.demo import generate_demo_company

    generate_demo_company(data, customers=customers, seed=42, overwrite=True)
    ws = Workspace.init(
        workspace, sources=demo_sources(str(data / "sources")), locale=DEMO_LOCALE, overwrite=True
    )
    ws.ingest.run()
    ws.identity.run()
    for table in EXPORTED:
        ws.engine.sql(f"COPY {table} TO '{workspace / (table + '.parquet')}' (FORMAT parquet)")
    as_of = ws.profiles.as_of()
    ws.close()
    return {"as_of": str(as_of)}


def child_ours(workspace: Path) -> dict:
    from personify import Workspace

    ws = Workspace(workspace)
    steps: dict[str, float] = {}
    last = ["setup", time.perf_counter()]

    def progress(step: str, _fraction: float) -> None:
        # progress() names the step that starts now: the time since the last call
        # belongs to the step named then (voice reports several times).
        now = time.perf_counter()
        steps[last[0]] = steps.get(last[0], 0.0) + now - last[1]
        last[:] = [step, now]

    start = time.perf_counter()
    result = ws.profiles.run(progress=progress)
    seconds = time.perf_counter() - start
    progress("end", 1.0)
    ws.engine.sql(
        f"COPY (SELECT person_id, frequency, monetary FROM profiles) "
        f"TO '{workspace / 'ours.parquet'}' (FORMAT parquet)"
    )
    ws.close()
    return {
        "seconds": seconds,
        "peak_mb": _peak_mb(),
        "persons": result.persons,
        "columns": len(result.columns),
        "steps": steps,
    }


def child_pandas(workspace: Path, as_of: str) -> dict:
    import pandas as pd

    start = time.perf_counter()
    read = {t: pd.read_parquet(workspace / f"{t}.parquet") for t in EXPORTED}
    links = read["identity_links"][["source", "record_id", "person_id"]]
    orders = read["raw_orders"]
    orders = orders[orders["status"].fillna("completed") != "cancelled"]
    online = orders.assign(record_id=orders["order_id"].astype(str), source="orders").merge(
        links, on=["source", "record_id"]
    )
    online = pd.DataFrame(
        {
            "person_id": online["person_id"],
            "ts": online["order_ts"],
            "amount": online["total"],
            "channel": online["channel"].str.lower(),
            "discounted": (online["discount"].fillna(0) > 0) | online["discount_code"].notna(),
        }
    )
    pos = read["raw_pos_receipts"]
    pos = pos.assign(
        amount=pos["quantity"].fillna(1) * pos["unit_price"] - pos["discount"].fillna(0)
    )
    receipts = (
        pos.groupby("receipt_id")
        .agg(ts=("receipt_ts", "min"), amount=("amount", "sum"), discount=("discount", "sum"))
        .reset_index()
    )
    receipts = receipts.assign(record_id=receipts["receipt_id"].astype(str), source="pos_receipts")
    receipts = receipts.merge(links, on=["source", "record_id"])
    store = pd.DataFrame(
        {
            "person_id": receipts["person_id"],
            "ts": receipts["ts"],
            "amount": receipts["amount"],
            "channel": "store",
            "discounted": receipts["discount"] > 0,
        }
    )
    buys = pd.concat([online, store], ignore_index=True)
    now = pd.Timestamp(as_of)
    buys["recent"] = buys["ts"] >= now - pd.Timedelta(days=365)
    g = buys.groupby("person_id")
    core = pd.DataFrame(
        {
            "frequency": g.size(),
            "monetary": g["amount"].sum().round(2),
            "recency_days": (now - g["ts"].max()).dt.days,
            "tenure_days": (now - g["ts"].min()).dt.days,
            "revenue_12m": buys[buys["recent"]].groupby("person_id")["amount"].sum(),
            "discount_share": g["discounted"].mean(),
        }
    )
    core["avg_order_value"] = core["monetary"] / core["frequency"]
    shares = pd.crosstab(buys["person_id"], buys["channel"], normalize="index")
    core = core.join(shares.add_suffix("_share"))
    lines = read["raw_order_lines"].merge(read["raw_products"], on="product_id", how="left")
    lines = lines.merge(orders[["order_id", "order_ts"]], on="order_id")
    lines = lines.assign(record_id=lines["order_id"].astype(str), source="orders").merge(
        links, on=["source", "record_id"]
    )
    lines["amount"] = lines["quantity"].fillna(1) * lines["unit_price"] - lines[
        "line_discount"
    ].fillna(0)
    core["return_rate"] = lines.groupby("person_id")["returned"].mean()
    spend = lines.pivot_table(
        index="person_id", columns="category", values="amount", aggfunc="sum", fill_value=0
    )
    core = core.join(spend.div(spend.sum(axis=1), axis=0).add_prefix("cat_"))
    seconds = time.perf_counter() - start
    core[["frequency", "monetary"]].reset_index().to_parquet(workspace / "pandas.parquet")
    return {"seconds": seconds, "peak_mb": _peak_mb(), "persons": len(core)}


def agreement(workspace: Path) -> dict:
    import pandas as pd

    ours = pd.read_parquet(workspace / "ours.parquet").set_index("person_id")
    theirs = pd.read_parquet(workspace / "pandas.parquet").set_index("person_id")
    both = ours[ours["frequency"] > 0].join(theirs.add_suffix("_pd"), how="outer")
    freq = int((both["frequency"] != both["frequency_pd"]).sum())
    money = int(((both["monetary"] - both["monetary_pd"]).abs() > 0.011).sum())
    return {"buyers": len(both), "frequency_mismatches": freq, "monetary_mismatches": money}


def run_child(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="50,000 customers")
    parser.add_argument("--customers", type=int, help="customer count (default 1,000,000)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "prepare":
            result = child_prepare(Path(rest[0]), Path(rest[1]), int(rest[2]))
        elif kind == "ours":
            result = child_ours(Path(rest[0]))
        else:
            result = child_pandas(Path(rest[0]), rest[1])
        print(json.dumps(result))
        return

    n = args.customers or (50_000 if args.quick else 1_000_000)
    console = Console(width=120)
    with tempfile.TemporaryDirectory(prefix="personify-profiles-") as tmp:
        data, ws = Path(tmp) / "data", Path(tmp) / "ws"
        console.print(f"[bold]{n:,} customers[/]: generating, ingesting, resolving...")
        prepared = run_child("prepare", str(data), str(ws), str(n))
        console.print("  our profile stage...")
        ours = run_child("ours", str(ws))
        console.print("  pandas baseline...")
        base = run_child("pandas", str(ws), prepared["as_of"])
        check = agreement(ws)

    table = Table(title=f"Profiles for {n:,} customers (2 cores)")
    for col in ("", "seconds", "peak MB", "persons", "columns"):
        table.add_column(col, justify="right")
    table.add_row(
        "ours (every attribute)",
        f"{ours['seconds']:.1f}",
        f"{ours['peak_mb']:,.0f}",
        f"{ours['persons']:,}",
        str(ours["columns"]),
    )
    table.add_row(
        "pandas (core purchase features)",
        f"{base['seconds']:.1f}",
        f"{base['peak_mb']:,.0f}",
        f"{base['persons']:,}",
        "",
    )
    console.print(table)
    steps = Table(title="Our profile stage, step by step (progress labels of ws.profiles.run)")
    for col in ("step", "what runs there", "seconds", "vs pandas"):
        steps.add_column(col, justify="right" if col in ("seconds", "vs pandas") else "left")
    for label, secs in ours["steps"].items():
        steps.add_row(
            label,
            STEP_NOTES.get(label, ""),
            f"{secs:.1f}",
            f"{secs / base['seconds']:.2f}",
        )
    console.print(steps)
    sql = ours["steps"].get("profiles", float("nan"))
    console.print(
        f"agreement on {check['buyers']:,} buyers: frequency differs for "
        f"{check['frequency_mismatches']}, revenue for {check['monetary_mismatches']}"
    )
    print(
        json.dumps(
            {
                "benchmark": "profiles_scale",
                "baseline": "pandas computing the core purchase features",
                "customers": n,
                "persons": ours["persons"],
                "seconds": round(ours["seconds"], 2),
                "peak_mb": round(ours["peak_mb"]),
                "baseline_seconds": round(base["seconds"], 2),
                "baseline_peak_mb": round(base["peak_mb"]),
                **check,
                "ratio": round(ours["seconds"] / base["seconds"], 3),
                "memory_ratio": round(ours["peak_mb"] / base["peak_mb"], 3),
                # the one SQL statement computing every attribute group, models aside
                "sql_seconds": round(sql, 2),
                "sql_ratio": round(sql / base["seconds"], 3),
                "steps": {k: round(v, 2) for k, v in ours["steps"].items()},
            }
        )
    )


if __name__ == "__main__":
    main()
