"""Segments at a million profiles: fit on a sample and assign everyone in the engine, place
later arrivals, count audiences, compare two runs; time and peak memory.

The profile table is synthetic, written straight into a workspace's DuckDB file (five
latent customer types with their own age, spend, rhythm, channel and category mix), so
the benchmark measures the segment stage, not the pipeline before it.

Baseline: scikit-learn on everything in memory, the usual notebook way: every model input
of all profiles read into pandas, median-imputed and standardised, and the segment stage's
procedure (k-means with 10 starts for each k in 3..6, k by the silhouette of a 5,000-row
subsample) fitted on all rows, whose labels are the segments.
``ratio`` = our fit-and-assign time / the baseline's time; ``memory_ratio`` likewise for
peak RSS (of the process tree, sampled every 50 ms). Each measurement runs in its own
process.

    .venv/bin/python benchmarks/segments_scale.py [--quick] [--profiles N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

TYPES = 5
ARRIVALS_SHARE = 0.1  # later arrivals, as a share of the profiles
RULES = [
    "clv > 500 and app_share > 0.5 and churn_risk < 0.3",
    'lifecycle_stage in ("active", "new") and not email_unsubscribed',
    "monetary / frequency > 80 or avg_order_value >= 150",
    'age between 25 and 34 and main_device == "mobile"',
]


def _profiles_sql(first: int, count: int) -> str:
    """``count`` synthetic profiles numbered from ``first`` (DuckDB SQL, deterministic)."""

    def u(salt: int) -> str:  # a uniform (0, 1) from the row number
        return f"((hash(i * 31 + {salt}) % 999983) + 0.5) / 999983.0"

    def z(salt: int) -> str:  # a standard normal (Box-Muller)
        return f"(sqrt(-2 * ln({u(salt)})) * cos(2 * pi() * {u(salt + 1)}))"

    # Per type: age, log spend, purchases, recency, app / web / store weights, category.
    t = "CAST(hash(i) % 5 AS INTEGER)"
    pick = lambda *v: "[" + ", ".join(map(str, v)) + f"][{t} + 1]"  # noqa: E731
    return f"""
    WITH b AS (SELECT i, {t} AS t FROM range({first}, {first + count}) r(i)),
    x AS (SELECT i, t,
        greatest(18, round({pick(24, 35, 47, 58, 70)} + 10 * {z(1)})) AS age,
        greatest(1, round({pick(2, 9, 4, 14, 1.5)} * exp(0.7 * {z(3)}))) AS frequency,
        {pick(40, 55, 120, 80, 25)} * exp(0.8 * {z(5)}) AS aov,
        greatest(0, round({pick(200, 30, 90, 15, 600)} * exp(0.9 * {z(7)}))) AS recency_days,
        (1 + {pick(4, 0, 0, 2, 0)}) * {u(9)} AS w_app,
        (1 + {pick(1, 3, 0, 1, 1)}) * {u(10)} AS w_web,
        (1 + {pick(0, 0, 4, 1, 2)}) * {u(11)} AS w_store,
        {pick(0.5, 0.1, 0.2, 0.05, 0.4)} * {u(12)} + 0.02 AS discount_share,
        {pick(0.02, 0.05, 0.15, 0.03, 0.01)} * {u(13)} AS return_rate,
        {pick(0.3, 0.6, 0.2, 0.5, 0.05)} * {u(14)} + 0.05 AS email_open_rate,
        {pick(0, 1, 2, 3, 0)} AS main_cat, {u(15)} AS cat_noise,
        {u(16)} AS r16, {u(17)} AS r17, {u(18)} AS r18
      FROM b)
    SELECT 'P' || lpad(CAST(i AS VARCHAR), 9, '0') AS person_id,
      CAST(age AS BIGINT) AS age, CAST(frequency AS BIGINT) AS frequency,
      round(aov * frequency, 2) AS monetary, round(aov, 2) AS avg_order_value,
      CAST(recency_days AS BIGINT) AS recency_days,
      CAST(recency_days + 30 * frequency + 60 AS BIGINT) AS tenure_days,
      w_app / (w_app + w_web + w_store) AS app_share,
      w_web / (w_app + w_web + w_store) AS web_share,
      w_store / (w_app + w_web + w_store) AS store_share,
      discount_share, return_rate, email_open_rate, email_open_rate * 0.2 AS email_click_rate,
      CASE WHEN main_cat = 0 THEN 0.3 + 0.4 * cat_noise ELSE 0.3 * cat_noise END AS cat_home,
      CASE WHEN main_cat = 1 THEN 0.3 + 0.4 * cat_noise ELSE 0.3 * cat_noise END AS cat_garden,
      CASE WHEN main_cat = 2 THEN 0.3 + 0.4 * cat_noise ELSE 0.3 * cat_noise END AS cat_kids,
      CASE WHEN main_cat = 3 THEN 0.3 + 0.4 * cat_noise ELSE 0.3 * cat_noise END AS cat_tech,
      round(aov * frequency * (1.5 - recency_days / 1000.0), 2) AS clv,
      least(0.99, recency_days / 800.0 + 0.1 * r16) AS churn_risk,
      greatest(0.01, 1 - recency_days / 800.0 - 0.1 * r16) AS p_alive,
      round(10 + 40 * r17, 2) AS acquisition_cost,
      CASE WHEN recency_days > 365 THEN 'lapsed' WHEN tenure_days < 90 THEN 'new'
           ELSE 'active' END AS lifecycle_stage,
      CASE WHEN w_app > w_web + w_store THEN 'mobile' WHEN r18 < 0.1 THEN NULL
           ELSE 'desktop' END AS main_device,
      r18 > 0.9 AS email_unsubscribed, t AS true_type
    FROM x"""


# -- children ---------------------------------------------------------------------------------
def child_generate(workspace: Path, profiles: int) -> dict:
    from personify import Workspace

    start = time.perf_counter()
    ws = Workspace.init(workspace, overwrite=True)
    ws.engine.sql(f"CREATE TABLE profiles AS {_profiles_sql(0, profiles)}")
    n = ws.engine.count("profiles")
    ws.close()
    return {"seconds": time.perf_counter() - start, "profiles": n}


def child_ours(workspace: Path, profiles: int) -> dict:
    """The segment stage: fit on a sample, assign every profile in the engine."""
    from personify import Workspace

    ws = Workspace(workspace)
    start = time.perf_counter()
    run = ws.segments.run()
    seconds = time.perf_counter() - start
    result = {
        "seconds": seconds,
        "k": int(getattr(run, "k", 0)),
        "run_id": run.run_id,
        "ari": _ari(ws, run.run_id),
    }
    ws.close()
    return result


def child_extras(workspace: Path, profiles: int) -> dict:
    """What follows a run: audience counts, later arrivals, a second run compared."""
    from personify import Workspace
    from personify.segments.arrivals import assign_arrivals
    from personify.segments.compare import compare_runs

    ws = Workspace(workspace)
    first = str(ws.engine.scalar("SELECT run_id FROM segment_runs"))
    times: dict[str, float] = {}
    counts = []
    for rule in RULES:
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            c = ws.audiences.count(rule)
            runs.append(time.perf_counter() - t0)
        counts.append({"rule": rule, "persons": c.persons, "seconds": statistics.median(runs)})
    times["count_median"] = statistics.median(c["seconds"] for c in counts)
    t0 = time.perf_counter()
    ws.audiences.summary(RULES[0])
    times["summary"] = time.perf_counter() - t0
    arrivals = int(profiles * ARRIVALS_SHARE)
    ws.engine.sql(f"INSERT INTO profiles {_profiles_sql(profiles, arrivals)}")
    t0 = time.perf_counter()
    placed = assign_arrivals(ws, first)
    times["arrivals"] = time.perf_counter() - t0
    # A refit as a refresh would run it: another seed, the first run's k.
    k = int(ws.engine.scalar("SELECT k FROM segment_runs WHERE run_id = ?", [first]))
    update = {"seed": ws.config.segments.seed + 1, "k": k}
    segments = ws.config.segments.model_copy(update=update)
    ws.config = ws.config.model_copy(update={"segments": segments})
    t0 = time.perf_counter()
    second = ws.segments.run()
    times["second_run"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    comparison = compare_runs(ws, first, second.run_id)
    times["compare"] = time.perf_counter() - t0
    ws.close()
    return {
        "times": times,
        "counts": counts,
        "arrivals": placed.arrivals,
        "assigner_agreement": placed.agreement,
        "compare_events": comparison.events(),
    }


def _ari(ws: object, run_id: str) -> float:
    """Adjusted Rand index of the run against the latent types, from the contingency table
    the engine counts (Hubert and Arabie's formula), so no million labels reach Python."""
    from math import comb

    rows = ws.engine.sql(  # type: ignore[attr-defined]
        """SELECT p.true_type, m.segment_id, count(*) FROM profiles p
        JOIN segment_membership m ON m.person_id = p.person_id WHERE m.run_id = ?
        GROUP BY 1, 2""",
        [run_id],
    ).fetchall()
    a: dict[int, int] = {}
    b: dict[int, int] = {}
    for t, s, c in rows:
        a[t] = a.get(t, 0) + c
        b[s] = b.get(s, 0) + c
    n = sum(a.values())
    pairs = sum(comb(c, 2) for _, _, c in rows)
    sa, sb = sum(comb(x, 2) for x in a.values()), sum(comb(x, 2) for x in b.values())
    expected = sa * sb / comb(n, 2)
    return (pairs - expected) / (0.5 * (sa + sb) - expected)


def child_baseline(workspace: Path, profiles: int) -> dict:
    import duckdb
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    from personify.profiles.features import describe

    start = time.perf_counter()
    con = duckdb.connect(str(workspace / "personify.duckdb"), read_only=True)
    cols = [
        c
        for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'profiles'"
        ).fetchall()
        if describe(c).model or c.startswith("cat_")
    ]
    # The original profiles only (not the arrivals the other child appended).
    df = con.execute(
        f"SELECT {', '.join(cols)} FROM profiles WHERE person_id < ?",
        [f"P{profiles:09d}"],
    ).df()
    con.close()
    load = time.perf_counter() - start
    x = df.fillna(df.median()).to_numpy(dtype=float)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    # The segment stage's procedure (k-means, 10 starts per k, k by the silhouette of a
    # 5,000-row subsample in 3..6), written out with scikit-learn, on every row.
    best: tuple[float, int, object] | None = None
    for n_clusters in range(3, 7):
        model = KMeans(n_clusters=n_clusters, n_init=10, random_state=42).fit(x)
        score = silhouette_score(x, model.labels_, sample_size=5000, random_state=42)
        if best is None or score > best[0]:
            best = (float(score), n_clusters, model.labels_)
    assert best is not None
    labels = best[2]
    return {
        "seconds": time.perf_counter() - start,
        "load_seconds": load,
        "rows": len(labels),
        "features": len(cols),
        "k": best[1],
    }


# -- parent -----------------------------------------------------------------------------------
def _tree_rss_mb(root: int) -> float:
    """Resident memory of ``root`` and every process below it."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/statm") as f:
                rss[int(entry)] = int(f.read().split()[1]) * page
            parents[int(entry)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        for child, parent in parents.items():
            if parent == p and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(rss.get(p, 0) for p in tree) / 2**20


def run_child(*args: str) -> dict:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", *args], stdout=subprocess.PIPE, text=True
    )
    peak = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_mb(proc.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    done.set()
    sampler.join()
    if proc.returncode:
        raise SystemExit(f"child {args[0]} failed ({proc.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_mb"] = peak
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="50,000 profiles")
    parser.add_argument("--profiles", type=int, help="how many profiles (default 1,000,000)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, path, *numbers = args.child
        fn = {
            "generate": child_generate,
            "ours": child_ours,
            "extras": child_extras,
            "baseline": child_baseline,
        }[kind]
        print(json.dumps(fn(Path(path), *map(int, numbers))))
        return
    n = args.profiles or (50_000 if args.quick else 1_000_000)
    console = Console(width=140)
    with tempfile.TemporaryDirectory(prefix="personify-segbench-", dir="/work/dbg") as tmp:
        ws = Path(tmp) / "ws"
        console.print(f"[bold]{n:,} profiles[/]: generating...")
        gen = run_child("generate", str(ws), str(n))
        console.print("  ours: fit on a sample, assign in the engine...")
        ours = run_child("ours", str(ws), str(n))
        console.print("  audiences, later arrivals, a second run compared...")
        extras = run_child("extras", str(ws), str(n))
        console.print("  baseline: the same k-means procedure on all rows in memory...")
        base = run_child("baseline", str(ws), str(n))

    t = extras["times"]
    table = Table(title=f"Segments at {n:,} profiles on {os.cpu_count()} cores")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    table.add_column("peak MB", justify="right")
    table.add_column("note")
    table.add_row("generate profiles", f"{gen['seconds']:.1f}", "", "synthetic, in DuckDB")
    table.add_row(
        "fit on a sample + assign all",
        f"{ours['seconds']:.1f}",
        f"{ours['peak_mb']:,.0f}",
        f"k={ours['k']}, ARI {ours['ari']:.2f} against the latent types",
    )
    table.add_row(
        "baseline: sklearn on all rows",
        f"{base['seconds']:.1f}",
        f"{base['peak_mb']:,.0f}",
        f"{base['rows']:,} rows x {base['features']} inputs, k={base['k']} "
        f"(load {base['load_seconds']:.1f} s)",
    )
    for c in extras["counts"]:
        table.add_row("audience count", f"{c['seconds']:.3f}", "", f"{c['persons']:,}: {c['rule']}")
    table.add_row("audience summary", f"{t['summary']:.2f}", "", RULES[0])
    table.add_row(
        "later arrivals",
        f"{t['arrivals']:.1f}",
        "",
        f"{extras['arrivals']:,} placed; the rule puts {extras['assigner_agreement']:.1%} of "
        "members back",
    )
    events = ", ".join(f"{v} {e}" for e, v in extras["compare_events"].items() if v)
    table.add_row("refit (other seed, same k)", f"{t['second_run']:.1f}", "", "")
    table.add_row("compare the two runs", f"{t['compare']:.1f}", "", events)
    table.add_row("", "", f"{extras['peak_mb']:,.0f}", "peak of these five steps")
    console.print(table)
    figures = {
        "benchmark": "segments_scale",
        "baseline": "scikit-learn k-means on all profiles in memory (k in 3..6 by silhouette, "
        "10 starts each), the segment stage's procedure without the sample",
        "profiles": n,
        "cores": os.cpu_count(),
        "k": ours["k"],
        "ari": round(ours["ari"], 3),
        "fit_assign_seconds": round(ours["seconds"], 2),
        "peak_mb": round(ours["peak_mb"]),
        "count_seconds_median": round(t["count_median"], 4),
        "summary_seconds": round(t["summary"], 3),
        "arrivals": extras["arrivals"],
        "arrivals_seconds": round(t["arrivals"], 2),
        "assigner_agreement": round(extras["assigner_agreement"], 4),
        "compare_seconds": round(t["compare"], 2),
        "compare_events": extras["compare_events"],
        "extras_peak_mb": round(extras["peak_mb"]),
        "baseline_seconds": round(base["seconds"], 2),
        "baseline_k": base["k"],
        "baseline_peak_mb": round(base["peak_mb"]),
        "ratio": round(ours["seconds"] / base["seconds"], 3),
        "memory_ratio": round(ours["peak_mb"] / base["peak_mb"], 3),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
