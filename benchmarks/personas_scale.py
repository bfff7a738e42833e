"""Persona generation time at 10k, 100k and 1M profiles.

A demo company of 2,000 customers runs the whole pipeline once; then its ``profiles``,
``segment_membership`` and ``voice_texts`` are replicated (each person copied under new
ids) to N profiles, the segments' sizes scaled to match, and the persona stage is timed on
them (distinguishing tests, journey, themes with their permutation test, cards, files).

Baseline: DuckDB alone computing what any persona card needs at least, the per-segment
average of every numeric profile column (one GROUP BY over the same members join). The
last line is JSON; ``ratio`` is our persona stage's wall time over the baseline's at the
largest size (lower is better).

    .venv/bin/python benchmarks/personas_scale.py [--quick]   # --quick: 10k and 100k
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from personify import Workspace
from personify.cli import DEMO_LOCALE, demo_sources
from personify.demo import generate_demo_company

BASE = 2_000


def _replicate(ws: Workspace, originals: dict[str, str], copies: int) -> None:
    """profiles, segment_membership and voice_texts as ``copies`` copies of the base."""
    con = ws.engine.sql
    for table in ("profiles", "segment_membership", "voice_texts"):
        con(f"DROP TABLE IF EXISTS {table}")
        con(
            f"""CREATE TABLE {table} AS SELECT * REPLACE (
                CASE WHEN c.i = 0 THEN person_id ELSE person_id || '~' || c.i END AS person_id)
            FROM {originals[table]} CROSS JOIN (SELECT range AS i FROM range({copies})) c"""
        )
    run = ws.segments.latest_run()["run_id"]
    con(
        f"""UPDATE segments SET size = s.n, revenue = segments.revenue * {copies}
        FROM (SELECT segment_id, count(*) AS n FROM segment_membership GROUP BY 1) s
        WHERE segments.segment_id = s.segment_id AND segments.run_id = '{run}'"""
    )


def _baseline(ws: Workspace) -> float:
    run = ws.segments.latest_run()["run_id"]
    types = ws.engine.column_types("profiles")
    numeric = [c for c, t in types if t.startswith(("BIGINT", "DOUBLE", "HUGEINT", "INTEGER"))]
    start = time.perf_counter()
    ws.engine.fetch_df(
        "SELECT m.segment_id, "
        + ", ".join(f'avg(CAST(p."{c}" AS DOUBLE))' for c in numeric)
        + f""" FROM profiles p JOIN segment_membership m USING (person_id)
        WHERE m.run_id = '{run}' GROUP BY 1"""
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="10k and 100k profiles only")
    args = parser.parse_args()
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate_demo_company(root / "data", customers=BASE, seed=5)
        ws = Workspace.init(
            root / "ws", sources=demo_sources(str(root / "data" / "sources")), locale=DEMO_LOCALE
        )
        ws.run()
        persons = ws.engine.count("profiles")
        originals = {}
        for table in ("profiles", "segment_membership", "voice_texts"):
            ws.engine.sql(f"CREATE TABLE base_{table} AS SELECT * FROM {table}")
            originals[table] = f"base_{table}"
        for size in sizes:
            copies = max(1, round(size / persons))
            _replicate(ws, originals, copies)
            n = ws.engine.count("profiles")
            cpu0 = time.process_time()
            start = time.perf_counter()
            result = ws.personas.run()
            wall = time.perf_counter() - start
            cpu = time.process_time() - cpu0
            base = min(_baseline(ws) for _ in range(3))
            rows.append(
                {
                    "profiles": n,
                    "personas": len(result.personas),
                    "wall_s": round(wall, 2),
                    "cpu_s": round(cpu, 2),
                    "baseline_s": round(base, 3),
                }
            )
            print(
                f"{n:>10,} profiles  {len(result.personas)} personas  persona stage "
                f"{wall:7.2f} s (CPU {cpu:6.2f} s)  baseline {base:6.3f} s",
                flush=True,
            )
        ws.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    last = rows[-1]
    print(
        json.dumps(
            {
                "benchmark": "personas_scale",
                "sizes": rows,
                "peak_rss_mb": round(peak),
                "ratio": round(last["wall_s"] / max(last["baseline_s"], 1e-6), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
