"""CLV models on CDNOW (Fader, Hardie and Lee 2005): parameters against the published ones,
and the 39-week holdout (weeks 40-78) predicted against what the customers did.

The data are the files that the `lifetimes` package ships (dev extra), read directly:
`cdnow_customers_summary.csv` (x, t_x, T in weeks: the paper's input),
`cdnow_customers_summary_with_transactions.csv` (x and mean repeat spend) and
`CDNOW_sample.txt` (the 2,357 customers' 6,919 transactions, for the holdout). Our fit
(personify.profiles.value) runs against lifetimes' on the same inputs: CPU time of each,
`ratio` = ours / lifetimes.

    .venv/bin/python benchmarks/clv_cdnow.py [--quick]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from personify.profiles.value import BetaGeoModel, GammaGammaModel, ParetoNBDModel

PUBLISHED = {
    "bgnbd": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    "pareto_nbd": {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669},
    "gamma_gamma": {"p": 6.249, "q": 3.745, "v": 15.448},
}
START = pd.Timestamp("1997-01-01")
CALIBRATION_END = START + pd.Timedelta(weeks=39)  # weeks 1-39 calibrate, 40-78 hold out
END = START + pd.Timedelta(weeks=78)


def datasets() -> Path:
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("needs the dev extra (lifetimes): pip install -e '.[dev]'")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets"


def transactions(folder: Path) -> pd.DataFrame:
    t = pd.read_csv(
        folder / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["id", "index", "date", "cds", "amount"],
        dtype={"date": str},
    )
    t["date"] = pd.to_datetime(t["date"], format="%Y%m%d")
    # A purchase is a customer's day (as the paper and lifetimes count): one per id and date.
    return t.groupby(["id", "date"], as_index=False)["amount"].sum()


def timed(fn):  # type: ignore[no-untyped-def]
    start = time.process_time()
    out = fn()
    return out, time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="the same: it takes seconds")
    parser.parse_args()
    folder = datasets()
    s = pd.read_csv(folder / "cdnow_customers_summary.csv")
    g = pd.read_csv(folder / "cdnow_customers_summary_with_transactions.csv")
    g = g[g["x"] > 0]  # Gamma-Gamma: customers with repeat purchases (the paper's 946)
    x, t_x, T = s["frequency"].to_numpy(), s["recency"].to_numpy(), s["T"].to_numpy()

    bg, bg_cpu = timed(lambda: BetaGeoModel().fit(x, t_x, T))
    pn, pn_cpu = timed(lambda: ParetoNBDModel().fit(x, t_x, T))
    gg, gg_cpu = timed(lambda: GammaGammaModel().fit(g["x"], g["zbar"]))
    fitted = {"bgnbd": bg.params_, "pareto_nbd": pn.params_, "gamma_gamma": gg.params_}

    oracle_cpu = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter

            _, c1 = timed(lambda: BetaGeoFitter().fit(x, t_x, T))
            _, c2 = timed(lambda: ParetoNBDFitter().fit(x, t_x, T))
            _, c3 = timed(lambda: GammaGammaFitter().fit(g["x"], g["zbar"]))
            oracle_cpu = c1 + c2 + c3
    except ImportError:
        pass

    print(f"{'model':<12} {'param':<6} {'fitted':>10} {'published':>10} {'rel err':>9}")
    params = {}
    max_rel = 0.0
    for model, values in PUBLISHED.items():
        for name, published in values.items():
            value = fitted[model][name]
            rel = abs(value - published) / published
            max_rel = max(max_rel, rel)
            params[f"{model}.{name}"] = {"fitted": round(value, 4), "published": published}
            print(f"{model:<12} {name:<6} {value:>10.4f} {published:>10.3f} {rel:>9.2%}")

    # Holdout: cumulative repeat purchases by week (BG/NBD), from each customer's trial day.
    days = transactions(folder)
    first = days.groupby("id")["date"].min()
    trial_weeks = ((first - START).dt.days / 7).to_numpy()
    repeat = days[days["date"] > days["id"].map(first)]
    print(f"\n{'week':>5} {'predicted':>10} {'actual':>8}  cumulative repeat purchases")
    cumulative = {}
    for week in (26, 39, 52, 65, 78):
        at = np.clip(week - trial_weeks, 0, None)
        predicted = float(bg.expected_purchases_new(at).sum())
        actual = int((repeat["date"] < START + pd.Timedelta(weeks=week)).sum())
        cumulative[week] = (predicted, actual)
        print(f"{week:>5} {predicted:>10.0f} {actual:>8}")

    # Conditional: expected purchases in weeks 40-78 given the calibration history, by x.
    cal = days[days["date"] < CALIBRATION_END]
    hold = days[(days["date"] >= CALIBRATION_END) & (days["date"] < END)]
    per = cal.groupby("id")["date"].agg(["min", "max", "count"])
    cx = (per["count"] - 1).to_numpy()
    ctx = ((per["max"] - per["min"]).dt.days / 7).to_numpy()
    cT = ((CALIBRATION_END - per["min"]).dt.days / 7).to_numpy()
    expected = bg.expected_purchases(39, cx, ctx, cT)
    actual_hold = hold.groupby("id").size().reindex(per.index, fill_value=0).to_numpy()
    group = np.minimum(cx, 7)
    print(
        f"\n{'x (cal)':>7} {'n':>5} {'predicted':>10} {'actual':>8}  weeks 40-78, mean per customer"
    )
    by_group = {}
    for k in range(8):
        mask = group == k
        label = f"{k}+" if k == 7 else str(k)
        pred_k, act_k = float(expected[mask].mean()), float(actual_hold[mask].mean())
        by_group[label] = {
            "n": int(mask.sum()),
            "predicted": round(pred_k, 3),
            "actual": round(act_k, 3),
        }
        print(f"{label:>7} {int(mask.sum()):>5} {pred_k:>10.3f} {act_k:>8.3f}")
    predicted78, actual78 = cumulative[78]
    ours_cpu = bg_cpu + pn_cpu + gg_cpu
    print(
        f"\nweek 78: predicted {predicted78:.0f} vs actual {actual78} "
        f"({predicted78 / actual78 - 1:+.1%});"
        f" holdout total predicted {expected.sum():.0f} vs actual {actual_hold.sum()}"
    )
    print(
        f"fit CPU: ours {ours_cpu:.2f} s"
        + (f", lifetimes {oracle_cpu:.2f} s" if oracle_cpu is not None else "")
    )
    result = {
        "benchmark": "clv_cdnow",
        "customers": len(s),
        "params": params,
        "max_rel_err": round(max_rel, 5),
        "holdout_week78_predicted": round(predicted78, 1),
        "holdout_week78_actual": actual78,
        "holdout_weeks40_78_predicted": round(float(expected.sum()), 1),
        "holdout_weeks40_78_actual": int(actual_hold.sum()),
        "by_frequency": by_group,
        "cpu_s": round(ours_cpu, 3),
        "baseline_cpu_s": None if oracle_cpu is None else round(oracle_cpu, 3),
        "ratio": None if not oracle_cpu else round(ours_cpu / oracle_cpu, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
