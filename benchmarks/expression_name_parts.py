"""Throughput of derived values (expr) on a table of text, in rows per second.

A table of ``--rows`` full names drawn from ``--distinct`` different names (exports
repeat people), plus two number columns; each expression is compiled and materialised
with CREATE TABLE AS, timed on a fresh name cache (name parts parse each distinct name once).
CPU seconds are printed beside wall seconds: on a shared machine they differ.

    .venv/bin/python benchmarks/expression_name_parts.py [--rows 1000000] [--distinct 50000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pyarrow as pa
from faker import Faker

from personify.engine import DuckDBEngine
from personify.ingest._readers import quote_ident
from personify.ingest.expressions import compile_expression, name_parts, register_functions

EXPRESSIONS = {
    "first_name": "first_name(`Full Name`)",
    "last_name": "last_name(`Full Name`)",
    "arithmetic": "number(net) + number(tax)",
    "text": "if(net > 100, upper(trim(`Full Name`)), 'small') || '!'",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--distinct", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    fake = Faker(["en_US", "de_DE", "fr_FR", "is_IS"])
    fake.seed_instance(args.seed)
    pool = [fake.name() for _ in range(args.distinct)]
    with tempfile.TemporaryDirectory() as tmp:
        engine = DuckDBEngine(Path(tmp) / "bench.duckdb")
        register_functions(engine)
        engine.con.register("pool", pa.table({"k": range(len(pool)), "name": pool}))
        engine.sql(
            f"""CREATE TABLE t AS
            SELECT pool.name AS "Full Name",
                   CAST(i % 997 AS VARCHAR) AS net, CAST(i % 19 AS VARCHAR) AS tax
            FROM range({args.rows}) r(i) JOIN pool ON pool.k = hash(i) % {len(pool)}
            ORDER BY i"""
        )
        distinct = engine.scalar('SELECT count(DISTINCT "Full Name") FROM t')
        print(f"{args.rows:,} rows, {distinct:,} distinct names")
        for label, text in EXPRESSIONS.items():
            sql = compile_expression(text, quote_ident)
            name_parts.cache_clear()
            start, cpu = time.perf_counter(), time.process_time()
            engine.sql(f"CREATE OR REPLACE TABLE out AS SELECT {sql} AS v FROM t")
            seconds = time.perf_counter() - start
            cpu = time.process_time() - cpu
            print(
                f"{label:12} {seconds:7.2f} s wall {cpu:7.2f} s cpu "
                f"{args.rows / seconds:12,.0f} rows/s   {text}"
            )
        engine.close()


if __name__ == "__main__":
    main()
