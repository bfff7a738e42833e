"""The pipeline on the two engines: DuckDB (the baseline) and Spark local[2], per stage.

For each size it generates the demo company once, then runs every stage on a DuckDB
workspace and on a Spark workspace (``engine: {kind: spark, master: local[2]}``), each
in its own process, from the same files. It reports each stage's seconds and the peak
memory of the whole process tree while the stage ran (Python plus, on Spark, the JVM,
which ``ru_maxrss`` of the Python process would miss), sampled from /proc.

``ratio`` = Spark's whole-pipeline seconds / DuckDB's at the largest size (lower is
better; above 1 means Spark local mode is slower on the same two cores, as expected).

    .venv/bin/python benchmarks/engines.py [--quick] [--sizes 100000,1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

STAGES = ("ingest", "identity", "profiles", "segments", "personas")
ENGINES = ("duckdb", "spark")


class TreeMemory:
    """Peak resident memory of this process and all its descendants, sampled every 0.1 s."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _tree_rss(os.getpid()))

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, _tree_rss(os.getpid()))


def _tree_rss(root: int) -> int:
    """Bytes resident in ``root`` and its descendants (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            # The command name may hold spaces: the fields after its closing bracket.
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    total = 0
    for pid in tree:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def child_generate(data: Path, customers: int) -> dict:
    from personify.demo import generate_demo_company

    start = time.perf_counter()
    generate_demo_company(data, customers=customers, seed=42, overwrite=True)
    return {"seconds": time.perf_counter() - start}


def child_pipeline(data: Path, workspace: Path, engine: str) -> dict:
    from personify import Workspace
    from personify.cli import DEMO_LOCALE, demo_sources

    start = time.perf_counter()
    ws = Workspace.init(
        workspace, sources=demo_sources(str(data / "sources")), locale=DEMO_LOCALE, overwrite=True
    )
    if engine == "spark":
        config = (workspace / "personify.yaml").read_text()
        config = config.replace("  kind: duckdb\n", "  kind: spark\n", 1)
        config = config.replace("  master: local[*]\n", "  master: local[2]\n", 1)
        (workspace / "personify.yaml").write_text(config)
        ws.close()
        ws = Workspace(workspace)
    seconds, peaks = {}, {}
    for stage in STAGES:
        with TreeMemory() as memory:
            begin = time.perf_counter()
            getattr(ws, stage).run()
            seconds[stage] = time.perf_counter() - begin
        peaks[stage] = memory.peak / 1e6
    # The engine's start (a JVM for Spark) is part of what a run costs.
    seconds["start"] = time.perf_counter() - start - sum(seconds.values())
    persons = ws.engine.count("profiles")
    ws.close()
    return {"seconds": seconds, "peak_mb": peaks, "persons": persons}


def run_child(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 customers")
    parser.add_argument("--sizes", help="comma-separated customer counts")
    parser.add_argument("--engines", default=",".join(ENGINES), help="duckdb,spark (both)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    engines = [e for e in ENGINES if e in args.engines.split(",")]
    if args.child:
        kind, *rest = args.child
        if kind == "generate":
            print(json.dumps(child_generate(Path(rest[0]), int(rest[1]))))
        else:
            print(json.dumps(child_pipeline(Path(rest[0]), Path(rest[1]), rest[2])))
        return

    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",")]
    else:
        sizes = [1_000] if args.quick else [100_000, 1_000_000]
    results: dict[int, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory(prefix="personify-engines-") as tmp:
        for n in sizes:
            data = Path(tmp) / f"data{n}"
            print(f"{n:,} customers: generating...", flush=True)
            run_child("generate", str(data), str(n))
            results[n] = {}
            for engine in engines:
                print(f"  {engine}...", flush=True)
                ws = Path(tmp) / f"{engine}{n}"
                results[n][engine] = run_child("pipeline", str(data), str(ws), engine)
                subprocess.run(["rm", "-rf", str(ws)], check=True)
            subprocess.run(["rm", "-rf", str(data)], check=True)

    label = f"{'customers':>10} {'engine':<7}"
    header = label + "".join(f"{s:>10}" for s in ("start", *STAGES))
    print(f"\nseconds per stage\n{header}{'total':>10}")
    for n, by_engine in results.items():
        for engine, r in by_engine.items():
            cells = "".join(f"{r['seconds'][s]:>10.1f}" for s in ("start", *STAGES))
            print(f"{n:>10,} {engine:<7}{cells}{sum(r['seconds'].values()):>10.1f}")
    print(f"\npeak MB per stage (process tree)\n{label}" + "".join(f"{s:>10}" for s in STAGES))
    for n, by_engine in results.items():
        for engine, r in by_engine.items():
            cells = "".join(f"{r['peak_mb'][s]:>10,.0f}" for s in STAGES)
            print(f"{n:>10,} {engine:<7}{cells}")

    largest = results[sizes[-1]]
    total = {e: sum(largest[e]["seconds"].values()) for e in engines}
    figures = {
        "benchmark": "engines",
        "baseline": "the same pipeline on DuckDB",
        "sizes": sizes,
        "seconds": {
            n: {e: {k: round(v, 2) for k, v in r["seconds"].items()} for e, r in by.items()}
            for n, by in results.items()
        },
        "peak_mb": {
            n: {e: {k: round(v) for k, v in r["peak_mb"].items()} for e, r in by.items()}
            for n, by in results.items()
        },
        "persons": {n: {e: r["persons"] for e, r in by.items()} for n, by in results.items()},
        **{f"{e}_seconds": round(t, 2) for e, t in total.items()},
    }
    if len(engines) == 2:  # one engine alone (--engines) has no ratio
        figures["ratio"] = round(total["spark"] / total["duckdb"], 3)
        figures["memory_ratio"] = round(
            max(largest["spark"]["peak_mb"].values()) / max(largest["duckdb"]["peak_mb"].values()),
            3,
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
