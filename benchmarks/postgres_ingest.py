"""Load throughput and peak memory of a PostgreSQL database source.

Starts a throw-away server (tests/support/postgres.py), fills a customers table
of N rows, then loads it into a fresh workspace in a child process (so the peak
RSS is the load's alone): a full load, then an incremental one after 1% of the
rows changed.

    .venv/bin/python benchmarks/postgres_ingest.py --rows 1000000
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

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.postgres import PostgresServer  # noqa: E402

FILL = """
CREATE TABLE customers (
    id bigint PRIMARY KEY, first_name text, last_name text, email text, phone text,
    birth date, postcode text, city text, signup date, consent boolean,
    score numeric(10, 2), tags text[], modified timestamptz NOT NULL);
INSERT INTO customers
SELECT i, 'First' || (i % 997), 'Last' || (i % 9973), 'c' || i || '@example.com',
       '07' || lpad((i * 7919 % 1000000000)::text, 9, '0'),
       date '1950-01-01' + (i % 20000)::int, 'PC' || (i % 5000), 'City' || (i % 300),
       date '2015-01-01' + (i % 3000)::int, i % 3 = 0, (i % 100000) / 100.0, ARRAY['t' || (i % 7)],
       timestamptz '2024-01-01 00:00+00' + i * interval '1 second'
FROM generate_series(1::bigint, %(rows)s) i;
"""


def load(workspace: Path, *, stage_only: bool) -> None:
    from personify import Workspace
    from personify.ingest._database import stage_database

    with Workspace(workspace) as ws:
        start = time.perf_counter()
        if stage_only:  # the database read alone, without the loader's checks
            spec = ws.config.sources["crm"].database
            assert spec is not None
            staged = stage_database(ws.engine, spec, "crm")
            rows = ws.engine.count(staged.table)
        else:
            rows = ws.ingest.run().rows_loaded
        seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_rss_mb": peak_mb}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-rows", type=int, default=50_000)
    parser.add_argument("--load", type=Path, help=argparse.SUPPRESS)  # the child's mode
    parser.add_argument("--stage-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        load(args.load, stage_only=args.stage_only)
        return
    server = PostgresServer.start()
    try:
        url = server.create_database("bench")
        start = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as con:
            con.execute(FILL.replace("%(rows)s", str(int(args.rows))))
        print(f"filled {args.rows:,} rows in {time.perf_counter() - start:.1f} s")
        folder = Path(tempfile.mkdtemp(prefix="personify-bench-"))
        from personify import Workspace

        database = {"url": url, "table": "customers", "updated_at": "modified"}
        database["batch_rows"] = args.batch_rows  # type: ignore[assignment]
        sources = {
            "crm": {
                "kind": "customers",
                "database": database,
                "columns": {
                    "customer_id": {"source": "id"},
                    "birth_date": {"source": "birth"},
                    "signup_date": {"source": "signup"},
                    "marketing_consent": {"source": "consent"},
                },
            }
        }
        Workspace.init(folder, sources=sources).close()
        for label in ("read into staging only", "full load", "incremental (1% changed)"):
            if label.startswith("incremental"):
                with psycopg.connect(url, autocommit=True) as con:
                    con.execute(
                        "UPDATE customers SET email = 'x' || email, modified = now() "
                        "WHERE id % 100 = 0"
                    )
            child = [sys.executable, __file__, "--load", str(folder)]
            child += ["--stage-only"] if label.startswith("read") else []
            out = subprocess.run(child, capture_output=True, text=True, check=True).stdout
            figures = json.loads(out.strip().splitlines()[-1])
            rate = figures["rows"] / figures["seconds"]
            print(
                f"{label}: {figures['rows']:,} rows in {figures['seconds']:.1f} s "
                f"({rate:,.0f} rows/s), peak RSS {figures['peak_rss_mb']:.0f} MB"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
