"""Segments against the demo company's true latent types.

For 10,000 and 20,000 customers (``--quick``: 3,000): the demo company is generated,
run through ingest, identity, profiles and segments, and each segmented person's
true type is read from ``truth/`` (the true person behind most of its records).
Figures, all adjusted Rand indices (ARI) against the true types:

- ``ari``: the segments of ``personify segments`` (the configured method, k chosen);
- ``stability_ari``: the run's bootstrap stability (mean ARI between the reference
  fit and fits on resamples, stored with the run);
- ``baseline_ari``: the naive baseline, k-means (k=5, the true number) on standardised
  log recency, frequency and monetary value alone;
- ``ceiling_ari``: the supervised ceiling, gradient-boosted trees trained on the true
  types with every profile attribute, 5-fold cross-validated predictions: what the
  profile's attributes allow at all.

``ratio`` = baseline_ari / ari (lower is better). The last line is JSON.

    .venv/bin/python benchmarks/segments_demo.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import cross_val_predict

from personify import Workspace
from personify.cli import DEMO_LOCALE, demo_sources
from personify.demo import generate_demo_company


def true_types(ws: Workspace, truth: Path) -> pd.Series:
    """Resolved person -> the type of the true person behind most of its records."""
    links = ws.engine.fetch_df("SELECT source, record_id, person_id FROM identity_links")
    records = pd.read_parquet(truth / "records.parquet")
    joined = links.merge(records, on=["source", "record_id"], suffixes=("", "_true"))
    majority = joined.groupby("person_id")["person_id_true"].agg(lambda s: s.mode().iloc[0])
    persons = pd.read_parquet(truth / "persons.parquet").set_index("person_id")["type"]
    return majority.map(persons).dropna()


def baseline(profiles: pd.DataFrame, y: pd.Series, seed: int) -> float:
    rfm = pd.DataFrame(
        {
            "r": profiles["recency_days"].astype(float),
            "f": np.log1p(profiles["frequency"].astype(float)),
            "m": np.log1p(profiles["monetary"].astype(float).clip(lower=0)),
        }
    )
    rfm = rfm.fillna(rfm.median())
    X = ((rfm - rfm.mean()) / rfm.std(ddof=0).replace(0, 1)).to_numpy()
    labels = KMeans(n_clusters=5, n_init=10, random_state=seed).fit_predict(X)
    return float(adjusted_rand_score(y, labels))


def ceiling(profiles: pd.DataFrame, y: pd.Series, seed: int) -> float:
    X = profiles.drop(columns=["person_id", "city", "postcode", "job_title", "sources"])
    for c in list(X.columns):
        if pd.api.types.is_bool_dtype(X[c]) or pd.api.types.is_numeric_dtype(X[c]):
            X[c] = pd.to_numeric(X[c], errors="coerce").astype(float)
        elif pd.api.types.is_datetime64_any_dtype(X[c]):
            X = X.drop(columns=c)
        else:
            X[c] = X[c].astype(str).astype("category")
    clf = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
    pred = cross_val_predict(clf, X, y, cv=5)
    return float(adjusted_rand_score(y, pred))


def measure(customers: int, seed: int, root: Path) -> dict[str, float]:
    start = time.perf_counter()
    generate_demo_company(root / "data", customers=customers, seed=seed)
    ws = Workspace.init(
        root / "ws", sources=demo_sources(str(root / "data" / "sources")), locale=DEMO_LOCALE
    )
    try:
        ws.ingest.run()
        ws.identity.run()
        ws.profiles.run()
        t0 = time.perf_counter()
        result = ws.segments.run()
        seg_time = time.perf_counter() - t0
        types = true_types(ws, root / "data" / "truth")
        members = ws.engine.fetch_df(
            "SELECT p.*, m.segment_id FROM segment_membership m JOIN profiles p "
            "USING (person_id) WHERE m.run_id = ? ORDER BY person_id",
            [result.run_id],
        )
        members = members[members["person_id"].isin(types.index)].reset_index(drop=True)
        y = members["person_id"].map(types)
        ari = float(adjusted_rand_score(y, members["segment_id"]))
        profiles = members.drop(columns=["segment_id"])
        return {
            "customers": customers,
            "segmented": len(members),
            "k": result.k,
            "method": result.method,
            "ari": ari,
            "stability_ari": float(result.stability or 0.0),
            "baseline_ari": baseline(profiles, y, seed),
            "ceiling_ari": ceiling(profiles, y, seed),
            "segments_s": seg_time,
            "total_s": time.perf_counter() - start,
        }
    finally:
        ws.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3,000 customers only")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    sizes = [3000] if args.quick else [10_000, 20_000]
    rows = []
    with tempfile.TemporaryDirectory(prefix="segments-demo-") as tmp:
        for n in sizes:
            rows.append(measure(n, args.seed, Path(tmp) / str(n)))
    print(
        f"{'customers':>9} {'segmented':>9} {'method':>7} {'k':>2} {'ARI':>6} "
        f"{'stab.':>6} {'RFM k-means':>11} {'ceiling':>7} {'seg s':>6}"
    )
    for r in rows:
        print(
            f"{r['customers']:>9,} {r['segmented']:>9,} {r['method']:>7} {r['k']:>2} "
            f"{r['ari']:>6.3f} {r['stability_ari']:>6.3f} {r['baseline_ari']:>11.3f} "
            f"{r['ceiling_ari']:>7.3f} {r['segments_s']:>6.1f}"
        )
    last = rows[-1]
    summary = {
        "customers": last["customers"],
        "ari": round(last["ari"], 4),
        "stability_ari": round(last["stability_ari"], 4),
        "baseline_ari": round(last["baseline_ari"], 4),
        "ceiling_ari": round(last["ceiling_ari"], 4),
        "k": last["k"],
        "method": last["method"],
        "ratio": round(last["baseline_ari"] / last["ari"], 4) if last["ari"] > 0 else None,
        "by_size": {
            str(r["customers"]): {
                k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()
            }
            for r in rows
        },
    }
    sys.stdout.flush()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
