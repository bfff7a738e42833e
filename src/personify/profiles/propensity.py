"""Propensities learned from the past: cross-sell (a first purchase in a product category
new to the customer) and upsell (a product of a higher price tier than the customer has
ever bought), each within ``profiles.cross_sell_window_days`` (default 180).

Features are computed at ``split`` = as_of - window from the items bought before it
(item lines, spend, distinct categories, purchase days, days since the last and the
first purchase; upsell also the highest and the mean tier bought); the label is whether
the event happened in [split, as_of). A logistic regression on log1p features,
standardised, is cross-validated out of fold (StratifiedKFold, 5 folds) and its ROC AUC
stored in profile_models beside a one-input yardstick (recency alone). The model fitted
on all of them then scores every customer's features at as_of: the chance of the event
in the next window.

A product's tier is the third of its category's list prices it falls in (percent rank
of ``products.price`` within the category: 1 below 1/3, 2 below 2/3, else 3; categories
with fewer than 3 priced products have no tiers). Customers who already bought the top
tier cannot be upsold a higher one: their upsell propensity is empty.

The engine computes the features (one row per person); only they reach Python, read
ordered by person_id, so both engines fit the same model. Neither spend nor the scores
are rounded: a sum that differs in its last bit between engines stays a last-bit
difference, where rounding could turn it into a whole step.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pyarrow as pa

from personify.profiles.churn import MIN_PER_CLASS
from personify.profiles.modelling import ModelResult

log = logging.getLogger(__name__)

FEATURES = ("item_lines", "spend", "categories", "purchase_days", "recency", "tenure")
TIER_FEATURES = ("max_tier", "mean_tier")
TOP_TIER = 3
FOLDS = 5


def _features(engine: Any, items: str, at: str) -> str:
    return f"""SELECT person_id, count(*) AS item_lines, sum(amount) AS spend,
        count(DISTINCT category) AS categories,
        count(DISTINCT CAST(ts AS DATE)) AS purchase_days,
        {engine.days_between("max(ts)", at)} AS recency,
        {engine.days_between("min(ts)", at)} AS tenure,
        max(tier) AS max_tier, avg(tier) AS mean_tier
      FROM ({items}) i WHERE category IS NOT NULL AND ts IS NOT NULL AND ts < {at}
      GROUP BY person_id"""


def _matrix(frame: Any, features: tuple[str, ...]) -> np.ndarray:
    return np.log1p(frame[list(features)].astype(float).fillna(0).to_numpy(float).clip(min=0))


def _fit_and_score(
    engine: Any,
    train: Any,
    score: Any,
    *,
    features: tuple[str, ...],
    column: str,
    table: str,
    result: dict[str, Any],
) -> ModelResult | None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    y = train["y"].to_numpy(int) if len(train) else np.zeros(0, int)
    positives = int(y.sum())
    if min(positives, len(y) - positives) < MIN_PER_CLASS:
        log.info(
            "%s: %d of %d customers did it in the last window: too few to learn from",
            result["model"],
            positives,
            len(y),
        )
        return None
    X = _matrix(train, features)

    def model() -> Any:
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))

    oof = np.zeros(len(y))
    with threadpool_limits(1):
        for tr, te in StratifiedKFold(FOLDS, shuffle=True, random_state=42).split(X, y):
            oof[te] = model().fit(X[tr], y[tr]).predict_proba(X[te])[:, 1]
        fitted = model().fit(X, y)
        p = fitted.predict_proba(_matrix(score, features))[:, 1] if len(score) else np.zeros(0)
    fitted_result = ModelResult(
        persons=len(y),
        positives=positives,
        folds=FOLDS,
        cv_score=float(roc_auc_score(y, oof)),
        baseline_cv_score=float(roc_auc_score(y, -train["recency"].to_numpy(float))),
        features=features,
        baseline="days since the last purchase alone",
        **result,
    )
    engine.create_table(
        table,
        f"SELECT person_id, CAST(0 AS DOUBLE) AS {column} FROM golden_record WHERE 1 = 0",
        temp=True,
    )
    engine.append_arrow(
        table,
        pa.table(
            {
                "person_id": pa.array(score["person_id"].astype(str).tolist(), pa.string()),
                column: pa.array(p, pa.float64()),
            }
        ),
    )
    log.info(
        "%s: %d customers (%d did it), CV ROC AUC %.4f (recency alone %.4f)",
        fitted_result.model,
        fitted_result.persons,
        positives,
        fitted_result.cv_score,
        fitted_result.baseline_cv_score,
    )
    return fitted_result


def cross_sell_table(
    engine: Any, items: str, as_of: Any, window_days: int, table: str = "_cross_sell"
) -> ModelResult | None:
    """Create ``table`` (person_id, cross_sell_propensity); None when too few customers
    bought into a new category in the last window to learn from."""
    now = f"TIMESTAMP '{as_of}'"
    split = f"(TIMESTAMP '{as_of}' - INTERVAL {int(window_days)} DAY)"
    train = engine.fetch_df(
        f"""WITH f AS ({_features(engine, items, split)}),
          firsts AS (SELECT person_id, category, min(ts) AS first_ts FROM ({items}) i
                     WHERE category IS NOT NULL AND ts IS NOT NULL AND ts < {now}
                     GROUP BY person_id, category),
          label AS (SELECT person_id,
                      max(CASE WHEN first_ts >= {split} THEN 1 ELSE 0 END) AS y
                    FROM firsts GROUP BY person_id)
        SELECT f.*, label.y FROM f JOIN label USING (person_id) ORDER BY person_id"""
    )
    score = engine.fetch_df(f"{_features(engine, items, now)} ORDER BY person_id")
    return _fit_and_score(
        engine,
        train,
        score,
        features=FEATURES,
        column="cross_sell_propensity",
        table=table,
        result={"target": f"new_category_{window_days}d", "model": "cross_sell"},
    )


def upsell_table(
    engine: Any, items: str, as_of: Any, window_days: int, table: str = "_upsell"
) -> ModelResult | None:
    """Create ``table`` (person_id, upsell_propensity) for customers below the top tier;
    None when tiers are unknown or too few customers moved up in the last window."""
    now = f"TIMESTAMP '{as_of}'"
    split = f"(TIMESTAMP '{as_of}' - INTERVAL {int(window_days)} DAY)"
    train = engine.fetch_df(
        f"""WITH f AS ({_features(engine, items, split)}),
          moved AS (SELECT person_id, max(tier) AS during FROM ({items}) i
                    WHERE tier IS NOT NULL AND ts >= {split} AND ts < {now}
                    GROUP BY person_id)
        SELECT f.*, CASE WHEN m.during > f.max_tier THEN 1 ELSE 0 END AS y
        FROM f LEFT JOIN moved m USING (person_id)
        WHERE f.max_tier < {TOP_TIER}
        ORDER BY person_id"""
    )
    score = engine.fetch_df(
        f"""SELECT * FROM ({_features(engine, items, now)}) f
        WHERE max_tier < {TOP_TIER} ORDER BY person_id"""
    )
    return _fit_and_score(
        engine,
        train,
        score,
        features=FEATURES + TIER_FEATURES,
        column="upsell_propensity",
        table=table,
        result={"target": f"higher_tier_{window_days}d", "model": "upsell"},
    )
