"""Cross-sell propensity: the probability that a customer buys into a product category
new to them within ``profiles.cross_sell_window_days`` (default 180).

Learned from the past: features are computed at ``split`` = as_of - window from the
items bought before it (item lines, spend, distinct categories, purchase days, days
since the last and the first purchase); the label is whether the customer's first
purchase in some category fell in [split, as_of). A logistic regression on log1p
features, standardised, is cross-validated out of fold (StratifiedKFold, 5 folds) and
its ROC AUC stored in profile_models beside a one-input yardstick (recency alone). The
model fitted on all of them then scores every customer's features at as_of: the chance
of a new category in the next window.

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
FOLDS = 5


def _features(engine: Any, items: str, at: str) -> str:
    return f"""SELECT person_id, count(*) AS item_lines, sum(amount) AS spend,
        count(DISTINCT category) AS categories,
        count(DISTINCT CAST(ts AS DATE)) AS purchase_days,
        {engine.days_between("max(ts)", at)} AS recency,
        {engine.days_between("min(ts)", at)} AS tenure
      FROM ({items}) i WHERE category IS NOT NULL AND ts IS NOT NULL AND ts < {at}
      GROUP BY person_id"""


def _matrix(frame: Any) -> np.ndarray:
    return np.log1p(frame[list(FEATURES)].to_numpy(float).clip(min=0))


def cross_sell_table(
    engine: Any, items: str, as_of: Any, window_days: int, table: str = "_cross_sell"
) -> ModelResult | None:
    """Create ``table`` (person_id, cross_sell_propensity); None when too few customers
    bought into a new category in the last window to learn from."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

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
    y = train["y"].to_numpy(int) if len(train) else np.zeros(0, int)
    positives = int(y.sum())
    if min(positives, len(y) - positives) < MIN_PER_CLASS:
        log.info(
            "cross-sell: %d of %d customers bought into a new category in the last %d "
            "days: too few to learn from",
            positives,
            len(y),
            window_days,
        )
        return None
    X = _matrix(train)

    def model() -> Any:
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))

    oof = np.zeros(len(y))
    with threadpool_limits(1):
        for tr, te in StratifiedKFold(FOLDS, shuffle=True, random_state=42).split(X, y):
            oof[te] = model().fit(X[tr], y[tr]).predict_proba(X[te])[:, 1]
        fitted = model().fit(X, y)
        score = engine.fetch_df(f"{_features(engine, items, now)} ORDER BY person_id")
        p = fitted.predict_proba(_matrix(score))[:, 1] if len(score) else np.zeros(0)
    result = ModelResult(
        target=f"new_category_{window_days}d",
        persons=len(y),
        positives=positives,
        folds=FOLDS,
        cv_score=float(roc_auc_score(y, oof)),
        baseline_cv_score=float(roc_auc_score(y, -train["recency"].to_numpy(float))),
        features=FEATURES,
        model="cross_sell",
        baseline="days since the last purchase alone",
    )
    engine.create_table(
        table,
        "SELECT person_id, CAST(0 AS DOUBLE) AS cross_sell_propensity FROM golden_record "
        "WHERE 1 = 0",
        temp=True,
    )
    engine.append_arrow(
        table,
        pa.table(
            {
                "person_id": pa.array(score["person_id"].astype(str).tolist(), pa.string()),
                "cross_sell_propensity": pa.array(p, pa.float64()),
            }
        ),
    )
    log.info(
        "cross-sell: %d customers (%d bought into a new category), CV ROC AUC %.4f "
        "(recency alone %.4f)",
        result.persons,
        positives,
        result.cv_score,
        result.baseline_cv_score,
    )
    return result
