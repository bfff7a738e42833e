"""The whole pipeline on the demo company at growing sizes: time per stage, peak memory.

Baseline: pandas reading every source file into memory (what a pandas-based
tool does before any work). ``ratio`` = our whole pipeline's time / the
baseline's time at the largest size; ``memory_ratio`` likewise for peak RSS.
Each measurement runs in its own process, so peak memory is its own.

    .venv/bin/python benchmarks/pipeline_scale.py [--quick] [--sizes 10000,100000]
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

STAGES = ("ingest", "identity", "profiles", "segments", "personas")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child_generate(data: Path, customers: int) -> dict:
    from personify.demo import generate_demo_company

    start = time.perf_counter()
    generate_demo_company(data, customers=customers, seed=42, overwrite=True)
    size = sum(f.stat().st_size for f in (data / "sources").iterdir())
    return {"seconds": time.perf_counter() - start, "peak_mb": _peak_mb(), "bytes": size}


def child_pipeline(data: Path, workspace: Path) -> dict:
    from personify import Workspace
    from personify.cli import DEMO_LOCALE, demo_sources

    ws = Workspace.init(
        workspace, sources=demo_sources(str(data / "sources")), locale=DEMO_LOCALE, overwrite=True
    )
    times = {}
    for stage in STAGES:
        start = time.perf_counter()
        getattr(ws, stage).run()
        times[stage] = time.perf_counter() - start
    persons = ws.engine.count("profiles")
    ws.close()
    return {
        "stages": times,
        "seconds": sum(times.values()),
        "peak_mb": _peak_mb(),
        "persons": persons,
    }


def child_pandas(data: Path) -> dict:
    import pandas as pd

    start = time.perf_counter()
    frames = []
    for f in sorted((data / "sources").iterdir()):
        if f.suffix == ".csv":
            frames.append(pd.read_csv(f))
        elif f.suffix == ".parquet":
            frames.append(pd.read_parquet(f))
        elif f.suffix == ".jsonl":
            frames.append(pd.read_json(f, lines=True))
    rows = sum(len(x) for x in frames)
    return {"seconds": time.perf_counter() - start, "peak_mb": _peak_mb(), "rows": rows}


def run_child(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="10,000 and 100,000 customers only")
    parser.add_argument("--sizes", help="comma-separated customer counts")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        fn = {"generate": child_generate, "pipeline": child_pipeline, "pandas": child_pandas}[kind]
        args_ = (Path(rest[0]), int(rest[1])) if kind == "generate" else tuple(map(Path, rest))
        result = fn(*args_)
        print(json.dumps(result))
        return

    sizes = (
        [int(s) for s in args.sizes.split(",")]
        if args.sizes
        else [10_000, 100_000]
        if args.quick
        else [10_000, 100_000, 1_000_000]
    )
    console = Console(width=170)
    rows = []
    with tempfile.TemporaryDirectory(prefix="personify-bench-") as tmp:
        for n in sizes:
            data, ws = Path(tmp) / f"data{n}", Path(tmp) / f"ws{n}"
            console.print(f"[bold]{n:,} customers[/]: generating...")
            gen = run_child("generate", str(data), str(n))
            console.print("  pipeline...")
            pipe = run_child("pipeline", str(data), str(ws))
            console.print("  baseline (pandas reads the sources)...")
            base = run_child("pandas", str(data))
            rows.append({"customers": n, "generate": gen, "pipeline": pipe, "baseline": base})
            for p in (data, ws):
                subprocess.run(["rm", "-rf", str(p)], check=True)

    table = Table(title="Pipeline at scale (seconds; peak RSS in MB)")
    for col in [
        "customers",
        "generate",
        *STAGES,
        "pipeline",
        "peak MB",
        "pandas read",
        "pandas MB",
        "data MB",
    ]:
        table.add_column(col, justify="right")
    for r in rows:
        p = r["pipeline"]
        table.add_row(
            f"{r['customers']:,}",
            f"{r['generate']['seconds']:.1f}",
            *(f"{p['stages'][s]:.1f}" for s in STAGES),
            f"{p['seconds']:.1f}",
            f"{p['peak_mb']:,.0f}",
            f"{r['baseline']['seconds']:.1f}",
            f"{r['baseline']['peak_mb']:,.0f}",
            f"{r['generate']['bytes'] / 1e6:,.0f}",
        )
    console.print(table)
    last = rows[-1]
    figures = {
        "benchmark": "pipeline_scale",
        "baseline": "pandas reading every source file into memory",
        "sizes": [r["customers"] for r in rows],
        "pipeline_seconds": {r["customers"]: round(r["pipeline"]["seconds"], 2) for r in rows},
        "stage_seconds": {
            r["customers"]: {k: round(v, 2) for k, v in r["pipeline"]["stages"].items()}
            for r in rows
        },
        "pipeline_peak_mb": {r["customers"]: round(r["pipeline"]["peak_mb"]) for r in rows},
        "generate_seconds": {r["customers"]: round(r["generate"]["seconds"], 2) for r in rows},
        "generate_peak_mb": {r["customers"]: round(r["generate"]["peak_mb"]) for r in rows},
        "baseline_seconds": {r["customers"]: round(r["baseline"]["seconds"], 2) for r in rows},
        "baseline_peak_mb": {r["customers"]: round(r["baseline"]["peak_mb"]) for r in rows},
        "ratio": round(last["pipeline"]["seconds"] / last["baseline"]["seconds"], 3),
        "memory_ratio": round(last["pipeline"]["peak_mb"] / last["baseline"]["peak_mb"], 3),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
