"""Identity on the demo company against its truth file: cluster-level B-cubed precision
and recall, exact keys alone (the baseline) and with probabilistic linkage (the default).

B-cubed: for each record, precision is the share of its resolved person's records that
belong to its true person, recall the share of its true person's records that its
resolved person holds; both averaged over every record the truth file lists (ids of
shop accounts, which are no source records, are left out). Also: the largest person
in identifiers (``max_cluster_size`` bounds it) and in records, and the records of
anonymous web sessions that never log in (nothing links them: the ceiling on recall).

    .venv/bin/python benchmarks/identity_demo.py [--customers 20000] [--quick]

Last line JSON; ``ratio`` = (1 - our B-cubed F1) / (1 - the exact keys' B-cubed F1).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import duckdb

from personify import Workspace
from personify.cli import DEMO_LOCALE, demo_sources
from personify.config import ProbabilisticConfig
from personify.demo import generate_demo_company


def bcubed(ws: Workspace, truth: Path) -> dict[str, float]:
    con = duckdb.connect()
    links = ws.engine.fetch_df("SELECT source, record_id, person_id FROM identity_links")
    graph = ws.engine.fetch_df(
        "SELECT person_id, count(*) AS n FROM identity_graph WHERE NOT is_hub GROUP BY 1"
    )
    con.register("links", links)
    con.register("graph", graph)
    row = con.execute(
        f"""WITH j AS (
          SELECT l.person_id, t.person_id AS true_id
          FROM links l JOIN read_parquet('{truth}') t USING (source, record_id)),
        cs AS (SELECT person_id, count(*) AS n FROM j GROUP BY 1),
        ts AS (SELECT true_id, count(*) AS n FROM j GROUP BY 1),
        pt AS (SELECT person_id, true_id, count(*) AS n FROM j GROUP BY 1, 2)
        SELECT sum(pt.n * pt.n / cs.n) / sum(pt.n), sum(pt.n * pt.n / ts.n) / sum(pt.n),
               (SELECT count(*) FROM cs), (SELECT count(*) FROM ts), (SELECT max(n) FROM cs),
               (SELECT max(n) FROM graph)
        FROM pt JOIN cs USING (person_id) JOIN ts USING (true_id)"""
    ).fetchall()[0]
    p, r = float(row[0]), float(row[1])
    return {
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(2 * p * r / (p + r), 4),
        "persons": int(row[2]),
        "true_persons": int(row[3]),
        "max_records": int(row[4]),
        "max_identifiers": int(row[5]),
    }


def anonymous_only(ws: Workspace) -> int:
    """Event records whose device never logged in and carried no e-mail: no key to link."""
    return int(
        ws.engine.scalar(
            """SELECT count(*) FROM raw_events e WHERE e.anonymous_id IN (
                 SELECT anonymous_id FROM raw_events GROUP BY 1
                 HAVING count(user_id) = 0 AND count(email) = 0)"""
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="2,000 customers")
    args = parser.parse_args()
    customers = 2_000 if args.quick else args.customers
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate_demo_company(root / "data", customers=customers, seed=42)
        ws = Workspace.init(
            root / "ws", sources=demo_sources(str(root / "data" / "sources")), locale=DEMO_LOCALE
        )
        ws.ingest.run()
        truth = root / "data" / "truth" / "records.parquet"
        rows = {}
        seconds = {}
        for name, enabled in (("exact keys", False), ("probabilistic", True)):
            identity = ws.config.identity.model_copy(
                update={"probabilistic": ProbabilisticConfig(enabled=enabled)}
            )
            ws.config = ws.config.model_copy(update={"identity": identity})
            start = time.perf_counter()
            ws.identity.run()
            seconds[name] = round(time.perf_counter() - start, 2)
            rows[name] = bcubed(ws, truth)
        unlinkable = anonymous_only(ws)
        records = int(ws.engine.scalar("SELECT count(*) FROM identity_links"))
        ws.close()
    print(f"demo company, {customers:,} customers, {records:,} records")
    print(f"{'run':14} {'P':>7} {'R':>7} {'F1':>7} {'persons':>8} {'max ids':>8} {'s':>6}")
    for name, s in rows.items():
        print(
            f"{name:14} {s['precision']:7.4f} {s['recall']:7.4f} {s['f1']:7.4f} "
            f"{s['persons']:8d} {s['max_identifiers']:8d} {seconds[name]:6.1f}"
        )
    print(
        f"true persons {rows['exact keys']['true_persons']:,}; {unlinkable:,} event records "
        "come from devices that never log in (no key links them)"
    )
    ours, base = rows["probabilistic"], rows["exact keys"]
    print(
        json.dumps(
            {
                "customers": customers,
                "bcubed_precision": ours["precision"],
                "bcubed_recall": ours["recall"],
                "bcubed_f1": ours["f1"],
                "exact_bcubed_precision": base["precision"],
                "exact_bcubed_recall": base["recall"],
                "max_identifiers": ours["max_identifiers"],
                "seconds": seconds["probabilistic"],
                "baseline_seconds": seconds["exact keys"],
                "unlinkable_event_records": unlinkable,
                "ratio": round((1 - ours["f1"]) / (1 - base["f1"]), 3),
            }
        )
    )


if __name__ == "__main__":
    main()
