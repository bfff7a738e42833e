"""CSV staging speed: our reader against a plain ``CREATE TABLE AS SELECT * FROM read_csv``.

Writes a CSV of ``--rows`` rows (6 fields, quoted text with commas, a few broken
lines), then stages it in a fresh process per variant so each peak RSS is its
own. Variants: ``plain`` (DuckDB's own sniffing, all_varchar), ``stage`` (our
``stage_files``: detected dialect, rejects, line numbers), ``stage_cp1252`` (the
same file declared cp1252, so it goes through the streaming transcoder).

    .venv/bin/python benchmarks/csv_staging.py [--rows 5000000]
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


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def write_csv(path: Path, rows: int) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute(
        f"""COPY (SELECT 'R' || i AS review_id, 'A' || (i % 100000) AS account_id,
                   (i % 5 + 1) AS rating, '2024-01-' || lpad(CAST(i % 28 + 1 AS VARCHAR), 2, '0')
                   AS created, 'Title ' || i AS title,
                   'I liked it, really (' || i || ')' AS body
            FROM range(1, {rows} + 1) t(i)) TO '{path}' (HEADER, FORCE_QUOTE *)"""
    )
    con.close()


def child(mode: str, csv_path: Path, workdir: Path) -> dict:
    from personify.config import SourceSpec
    from personify.engine import DuckDBEngine
    from personify.ingest._readers import stage_files

    engine = DuckDBEngine(workdir / f"{mode}.duckdb", memory_limit="4GB")
    start = time.perf_counter()
    if mode == "plain":
        engine.sql(
            f"CREATE TEMP TABLE t AS SELECT * FROM read_csv('{csv_path}', all_varchar = true)"
        )
        table = "t"
    else:
        options: dict = {"encoding": "cp1252"} if mode == "stage_cp1252" else {}
        spec = SourceSpec.model_validate({"kind": "reviews", "path": str(csv_path), "csv": options})
        table = stage_files(engine, spec, [csv_path], "bench").table
    seconds = time.perf_counter() - start
    rows = engine.count(table)
    engine.close()
    return {"mode": mode, "rows": rows, "seconds": seconds, "peak_mb": _peak_mb()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--child", nargs=3, metavar=("MODE", "CSV", "WORKDIR"))
    args = parser.parse_args()
    if args.child:
        mode, csv_path, workdir = args.child
        print(json.dumps(child(mode, Path(csv_path), Path(workdir))))
        return
    with tempfile.TemporaryDirectory(prefix="personify-bench-") as tmp:
        csv_path = Path(tmp) / "reviews.csv"
        write_csv(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1e6
        print(f"{args.rows:,} rows, {size_mb:,.0f} MB")
        for mode in ("plain", "stage", "stage_cp1252"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", mode, str(csv_path), tmp],
                check=True,
                capture_output=True,
                text=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{mode:>13}: {r['rows']:,} rows in {r['seconds']:.1f} s = "
                f"{r['rows'] / r['seconds']:,.0f} rows/s, peak RSS {r['peak_mb']:,.0f} MB"
            )


if __name__ == "__main__":
    main()
