"""Throughput of derived values (expr) on a table of text, in rows per second.

A table of ``--rows`` full names drawn from ``--distinct`` different names (exports
repeat people), plus two number columns; each expression is compiled and materialised
with CREATE TABLE AS, timed on a fresh name cache (name parts parse each distinct name once).
CPU seconds are printed beside wall seconds: on a shared machine they differ.

Baseline: the first_name expression again with every name parsed by nameparser (the
plain-name fast path off), in the same run; ``ratio`` = our CPU seconds / the baseline's.

    .venv/bin/python benchmarks/expression_name_parts.py [--quick] [--rows N] [--distinct N]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pyarrow as pa
from faker import Faker

from personify.engine import DuckDBEngine
from personify.ingest import expressions
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
    parser.add_argument("--quick", action="store_true", help="200k rows, 50k distinct names")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--distinct", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    args.rows = args.rows or (200_000 if args.quick else 1_000_000)
    if args.quick:
        args.distinct = min(args.distinct, 50_000)

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
        figures = {}
        plain_name = expressions._plain_name
        runs = [*EXPRESSIONS.items(), ("baseline", EXPRESSIONS["first_name"])]
        for label, text in runs:
            if label == "baseline":  # every name through nameparser
                expressions._plain_name = lambda full_name: None
            sql = compile_expression(text, quote_ident)
            name_parts.cache_clear()
            start, cpu = time.perf_counter(), time.process_time()
            engine.sql(f"CREATE OR REPLACE TABLE out AS SELECT {sql} AS v FROM t")
            seconds = time.perf_counter() - start
            cpu = time.process_time() - cpu
            figures[label] = (seconds, cpu)
            print(
                f"{label:12} {seconds:7.2f} s wall {cpu:7.2f} s cpu "
                f"{args.rows / seconds:12,.0f} rows/s   {text}"
            )
        expressions._plain_name = plain_name
        plain = sum(plain_name(n) is not None for n in set(pool))
        engine.close()
    print(f"plain names (no nameparser call): {plain / len(set(pool)):.0%} of the distinct names")
    summary = {
        "rows": args.rows,
        "distinct": distinct,
        "ratio": round(figures["first_name"][1] / figures["baseline"][1], 3),
        "rows_per_s": round(args.rows / figures["first_name"][0]),
        "first_name_cpu_s": round(figures["first_name"][1], 2),
        "baseline_cpu_s": round(figures["baseline"][1], 2),
        "plain_share": round(plain / len(set(pool)), 3),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
