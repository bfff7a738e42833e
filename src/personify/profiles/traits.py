"""Survey scales inferred from behaviour, for the persons who took no survey.

Usually under a tenth of customers answer a survey, so a declared scale
(``scale_<name>``) is empty for almost everyone. For each scale, a model learns the
answer from what the profile says about everyone alike: demographics, purchases and
their channels, categories, habits, engagement, value and voice (the survey scales
themselves and text counts, which differ for survey takers by construction, are left
out). Its score goes into ``inferred_<name>`` for every person: the out-of-fold
prediction for those who answered (a model never scores a person it was fitted on), the
model fitted on all of them for everyone else. A scale with more than
``profiles.traits.max_train`` answers is fitted on a sample of that many.

The model is the mean of a ridge regression on standardised inputs and a small
histogram gradient-boosted tree ensemble (the scale's answer depends on which kind of
customer someone is, which trees pick up from combinations of inputs). Its
cross-validated R² and a yardstick's (every answerer's mean, out of fold) go to
``profile_models``; a model below ``profiles.traits.min_r2`` is reported and its
column left empty, so a card never shows a trait the behaviour does not predict.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from personify.ingest._readers import quote_ident
from personify.profiles.features import (
    ATTRIBUTE_PREFIX,
    CATEGORY_PREFIX,
    FEATURE_BY_NAME,
    INFERRED_PREFIX,
)
from personify.profiles.modelling import ModelResult, design_matrix

if TYPE_CHECKING:
    from personify.config import TraitsConfig
    from personify.profiles.features import Catalogue

log = logging.getLogger(__name__)

# What no person-level input should be: identifiers, free-form places, the scales
# themselves and counts that survey taking changes (its open answers are texts).
_NOT_INPUTS = {"person_id", "city", "postcode", "sources", "job_title", "voice_texts"}
_CATEGORICAL = {
    "gender",
    "income_band",
    "education",
    "marital_status",
    "acquisition_channel",
    "main_device",
    "weekday_favourite",
    "daypart_favourite",
    "engagement_level",
    "lifecycle_stage",
    "voice_theme",
}


def input_roles(columns: list[str], catalogue: Catalogue) -> dict[str, str]:
    """Model inputs among the profile columns, each with its role."""
    roles: dict[str, str] = {}
    for column in columns:
        if column in _NOT_INPUTS or column in catalogue.scales:
            continue
        if column.startswith(INFERRED_PREFIX):
            continue
        if column in catalogue.attributes:
            attr = catalogue.attributes[column]
            if attr.role in ("numeric", "boolean", "categorical"):
                roles[column] = attr.role
        elif column in _CATEGORICAL:
            roles[column] = "categorical"
        elif column == "marketing_consent" or column == "email_unsubscribed":
            roles[column] = "boolean"
        elif (
            column in FEATURE_BY_NAME
            or column.startswith(CATEGORY_PREFIX)
            or column in ("revenue_12m", "reviews", "avg_satisfaction")
        ):
            roles[column] = "numeric"
        elif not column.startswith(ATTRIBUTE_PREFIX):
            log.debug("traits: profile column %s is not a model input", column)
    return roles


class TraitModel:
    """Ridge + boosted trees, averaged; ``fit``/``predict`` as scikit-learn's."""

    def __init__(self, seed: int = 42) -> None:
        self.seed = seed

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> TraitModel:
        from sklearn.ensemble import HistGradientBoostingRegressor
        from sklearn.linear_model import RidgeCV
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.ridge_ = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 4, 13)))
        self.trees_ = HistGradientBoostingRegressor(
            learning_rate=0.1,  # as good as 0.05 x 150 on the demo's scales, 2.5x fewer trees
            max_iter=60,
            max_depth=3,
            min_samples_leaf=20,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=self.seed,
        )
        self.ridge_.fit(X, y)
        self.trees_.fit(X, y)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray((self.ridge_.predict(X) + self.trees_.predict(X)) / 2)


def _r2(y: np.ndarray, predicted: np.ndarray) -> float:
    return float(1 - ((y - predicted) ** 2).sum() / ((y - y.mean()) ** 2).sum())


def inferred_table(
    engine: Any, catalogue: Catalogue, settings: TraitsConfig, profiles: str, table: str
) -> tuple[list[ModelResult], list[str]]:
    """Fit, cross-validate and score one model per declared scale; write ``table``
    (person_id and one ``inferred_<name>`` per scale, empty where the model was not
    kept). Returns the models and the inferred columns written."""
    from sklearn.model_selection import KFold
    from threadpoolctl import threadpool_limits

    present = engine.columns(profiles)
    scales = [s for s in catalogue.scales.values() if settings.enabled and s.column in present]
    if not scales:
        return [], []
    roles = input_roles(present, catalogue)
    wanted = ["person_id", *roles, *(s.column for s in scales)]
    frame = engine.fetch_df(
        f"SELECT {', '.join(quote_ident(c) for c in wanted)} FROM {profiles} ORDER BY person_id"
    )
    X, _ = design_matrix(frame, roles)
    results: list[ModelResult] = []
    columns: dict[str, pa.Array] = {
        "person_id": pa.array(frame["person_id"].astype(str).tolist(), pa.string())
    }
    with threadpool_limits(1):
        for scale in scales:
            out = f"{INFERRED_PREFIX}{scale.name}"
            y_all = pd.to_numeric(frame[scale.column], errors="coerce")
            known = y_all.notna().to_numpy()
            score = np.full(len(frame), np.nan)
            if known.sum() < settings.min_answers or y_all[known].nunique() < 2:
                log.warning(
                    "traits: %d persons answered '%s' (at least %d needed): not inferred",
                    int(known.sum()),
                    scale.name,
                    settings.min_answers,
                )
                columns[out] = pa.array(score, pa.float64())
                continue
            if known.sum() > settings.max_train:
                # Fit on a deterministic sample; the answerers left out are scored by the
                # model like everyone else, which was never fitted on them either.
                rng = np.random.default_rng(settings.seed)
                keep = rng.choice(np.flatnonzero(known), settings.max_train, replace=False)
                known = np.zeros(len(frame), bool)
                known[keep] = True
            y = y_all[known].to_numpy(float)
            answered = X.loc[known]
            oof = np.zeros(len(y))
            mean_oof = np.zeros(len(y))
            folds = KFold(settings.folds, shuffle=True, random_state=settings.seed)
            for train, test in folds.split(answered):
                model = TraitModel(settings.seed).fit(answered.iloc[train], y[train])
                oof[test] = model.predict(answered.iloc[test])
                mean_oof[test] = y[train].mean()
            result = ModelResult(
                target=scale.column,
                persons=int(known.sum()),
                positives=None,
                folds=settings.folds,
                cv_score=_r2(y, oof),
                baseline_cv_score=_r2(y, mean_oof),
                features=tuple(X.columns),
                model=f"trait_{scale.name}",
                baseline="the answerers' mean",
                metric="r2",
            )
            results.append(result)
            if result.cv_score < settings.min_r2:
                log.warning(
                    "traits: '%s' is not predicted by behaviour (CV R² %.3f < %.3f): not inferred",
                    scale.name,
                    result.cv_score,
                    settings.min_r2,
                )
            else:
                score[known] = oof
                if (~known).any():
                    fitted = TraitModel(settings.seed).fit(answered, y)
                    score[~known] = fitted.predict(X.loc[~known])
                score = np.clip(score, scale.low, scale.high)
                log.info(
                    "traits: '%s' inferred from behaviour, %d-fold CV R² %.3f on %d answers",
                    scale.name,
                    settings.folds,
                    result.cv_score,
                    result.persons,
                )
            columns[out] = pa.array(np.round(score, 4), pa.float64())
    inferred = [c for c in columns if c != "person_id"]
    schema = ", ".join(f"CAST(0 AS DOUBLE) AS {quote_ident(c)}" for c in inferred)
    engine.create_table(
        table, f"SELECT person_id, {schema} FROM golden_record WHERE 1 = 0", temp=True
    )
    engine.append_arrow(table, pa.table(columns))
    return results, inferred
