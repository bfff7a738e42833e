"""What the profile stage's supervised models share: the design matrix built from
profile columns, the result of a cross-validated model, and the ``profile_models`` table
every model of a run is reported in (churn, cross-sell, inferred traits)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

TOP_VALUES = 10  # categorical inputs: one-hot over this many most frequent values


@dataclass(frozen=True)
class ModelResult:
    """One cross-validated model: its out-of-fold score and a simpler yardstick's, in the
    same folds (``metric``: ``roc_auc`` for a probability, ``r2`` for a score)."""

    target: str
    persons: int  # labelled persons the model was cross-validated on
    positives: int | None  # classifiers: persons of the positive class
    folds: int
    cv_score: float
    baseline_cv_score: float
    features: tuple[str, ...]
    model: str = "churn"
    baseline: str = "plain logistic regression"
    metric: str = "roc_auc"

    @property
    def metric_label(self) -> str:
        return {"roc_auc": "ROC AUC", "r2": "R²"}.get(self.metric, self.metric)


def design_matrix(frame: pd.DataFrame, roles: dict[str, str]) -> tuple[pd.DataFrame, list[str]]:
    """Model inputs from profile columns: numeric as they are (missing: the median, plus a
    missing flag when any is missing), boolean 0/1 (missing 0.5), categorical one-hot over
    its TOP_VALUES most frequent values (ties by value); constant columns dropped. Returns
    the matrix and the names of its many-valued numeric columns (the spline candidates)."""
    parts: dict[str, pd.Series] = {}
    continuous: list[str] = []
    for column, role in roles.items():
        values = frame[column]
        if role == "numeric":
            x = pd.to_numeric(values, errors="coerce").astype(float)
            if x.isna().any():
                parts[f"{column}__missing"] = x.isna().astype(float)
            parts[column] = x.fillna(x.median() if x.notna().any() else 0.0)
            if x.nunique() > 10:
                continuous.append(column)
        elif role == "boolean":
            b = values.map(lambda v: np.nan if pd.isna(v) else float(bool(v)))
            parts[column] = b.astype(float).fillna(0.5)
        else:
            text = values.astype("string")
            counts = text.value_counts(dropna=True)
            ordered = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
            for value, _ in ordered[:TOP_VALUES]:
                parts[f"{column}={value}"] = (text == value).fillna(False).astype(float)
    matrix = pd.DataFrame(parts, index=frame.index)
    constant = [c for c in matrix if matrix[c].nunique() <= 1]  # says nothing about anyone
    return matrix.drop(columns=constant), [c for c in continuous if c not in constant]


def write_models(engine: Any, results: list[ModelResult]) -> None:
    """``profile_models``: one row per supervised model of the run (empty: none)."""
    engine.create_table(
        "profile_models",
        """SELECT CAST('' AS VARCHAR) AS model, CAST('' AS VARCHAR) AS target,
            CAST('' AS VARCHAR) AS metric, CAST(0 AS BIGINT) AS persons,
            CAST(0 AS BIGINT) AS positives, CAST(0 AS BIGINT) AS folds,
            CAST(0 AS DOUBLE) AS cv_score, CAST(0 AS DOUBLE) AS baseline_cv_score,
            CAST('' AS VARCHAR) AS baseline, CAST('' AS VARCHAR) AS features
        FROM golden_record WHERE 1 = 0""",
    )
    if not results:
        return
    engine.append_arrow(
        "profile_models",
        pa.table(
            {
                "model": pa.array([r.model for r in results], pa.string()),
                "target": pa.array([r.target for r in results], pa.string()),
                "metric": pa.array([r.metric for r in results], pa.string()),
                "persons": pa.array([r.persons for r in results], pa.int64()),
                "positives": pa.array([r.positives for r in results], pa.int64()),
                "folds": pa.array([r.folds for r in results], pa.int64()),
                "cv_score": pa.array([round(r.cv_score, 6) for r in results], pa.float64()),
                "baseline_cv_score": pa.array(
                    [round(r.baseline_cv_score, 6) for r in results], pa.float64()
                ),
                "baseline": pa.array([r.baseline for r in results], pa.string()),
                "features": pa.array([", ".join(r.features) for r in results], pa.string()),
            }
        ),
    )
