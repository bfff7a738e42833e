"""Model inputs for segmentation: mixed profile data made comparable.

Each input belongs to a *group* of related attributes (the category shares, the
channel mix, purchases, e-mail, one declared categorical's values, ...). Every
group enters the distance with the same total weight by default: each of its
``n`` inputs is weighted ``group weight / sqrt(n)``, so twelve correlated category
shares count as much as age, not twelve times as much. ``segments.weights`` sets a
group's (or one input's) weight; 0 leaves it out.

Per input, from the fitting sample (deterministic, so the same data gives the same
transform):

- numeric: ``ln(1 + x)`` when it is non-negative and right-skewed (sample skewness
  above ``SKEW_LOG``); then robust scaling, centred on the median and divided by
  the interquartile range / 1.349 (the standard deviation of a normal), or by the
  standard deviation when the IQR is 0 (sparse inputs); clipped to +-``CLIP``;
- 0/1 inputs (booleans, one-hot values of a categorical): centred on the mean and
  divided by the standard deviation;
- missing values take the centre (0 after scaling), and an input known for only a
  share of the persons is weighted by that share (a survey answered by 10% does not
  make its answerers a segment of their own).

The result is a SQL expression per input over ``profiles``, so every customer is
transformed the same way inside the engine.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from personify.errors import StageError
from personify.ingest._readers import quote_ident, quote_literal
from personify.profiles.features import (
    ATTRIBUTE_PREFIX,
    CATEGORY_PREFIX,
    SCALE_PREFIX,
    Catalogue,
)

if TYPE_CHECKING:
    from personify.workspace import Workspace

ONE_HOT_VALUES = 6  # a categorical enters as its most frequent values (the rest: none set)
SKEW_LOG = 1.0
CLIP = 4.0
MAX_MISSING = 0.95  # an input missing for more of the segmented persons is left out

# Built-in profile columns and the group each belongs to. Columns derived from others
# (CLV, churn risk, lifecycle stage, engagement level) are left out: they would count
# recency and frequency twice. Dynamic columns: cat_* -> categories, scale_* -> survey,
# attr_* -> a group of their own.
BUILTIN_GROUPS: dict[str, str] = {
    "age": "age",
    "gender": "gender",
    "income_band": "income",
    "education": "education",
    "marital_status": "marital_status",
    "frequency": "purchases",
    "monetary": "purchases",
    "recency_days": "purchases",
    "tenure_days": "purchases",
    "avg_order_value": "basket",
    "app_share": "channels",
    "web_share": "channels",
    "store_share": "channels",
    "discount_share": "discounts",
    "return_rate": "returns",
    "email_open_rate": "email",
    "email_click_rate": "email",
    "email_unsubscribed": "email",
    "web_sessions": "online",
    "product_views": "online",
    "tickets": "support",
    "avg_rating": "reviews",
    "acquisition_channel": "acquisition",
    "voice_sentiment": "voice",
    "voice_theme": "voice_theme",
}
CATEGORICAL_BUILTINS = {
    "gender",
    "income_band",
    "education",
    "marital_status",
    "acquisition_channel",
    "voice_theme",
}
# Booleans stored as numbers or flags that are already 0/1.
BINARY_BUILTINS = {"email_unsubscribed"}


@dataclass(frozen=True)
class Input:
    """One model input: its SQL over ``profiles`` and how it is scaled."""

    name: str
    column: str  # the profile column it comes from
    group: str
    kind: str  # numeric | binary | onehot
    raw: str  # SQL of the raw value (before transform)
    log: bool = False
    center: float = 0.0
    scale: float = 1.0
    weight: float = 1.0
    value: str | None = None  # a one-hot input's categorical value
    spread: float = 1.0  # standard deviation after scaling and clipping: divided out

    def scaled(self, x: np.ndarray) -> np.ndarray:
        """What :meth:`sql` computes before ``spread`` and ``weight``, for raw sample values."""
        t = np.where(np.isnan(x), np.nan, np.log1p(np.maximum(x, 0)) if self.log else x)
        t = np.where(np.isnan(t), self.center, t)
        z = (t - self.center) / self.scale
        return np.clip(z, -CLIP, CLIP) if self.kind == "numeric" else z

    def transformed(self) -> str:
        x = f"ln(1 + greatest({self.raw}, 0))" if self.log else self.raw
        return f"coalesce({x}, {_double(self.center)})"

    def sql(self) -> str:
        """The weighted, scaled value: what the distance is computed on."""
        z = f"(({self.transformed()} - {_double(self.center)}) / {_double(self.scale)})"
        if self.kind == "numeric":
            z = f"greatest(least({z}, {_double(CLIP)}), {_double(-CLIP)})"
        return f"({z} * {_double(self.weight / self.spread)})"

    def record(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("raw")
        return d


@dataclass(frozen=True)
class Categorical:
    """A categorical profile column as k-prototypes sees it (its value, or ``''``)."""

    column: str
    group: str
    values: tuple[str, ...]

    def sql(self) -> str:
        q = quote_ident(self.column)
        listed = ", ".join(quote_literal(v) for v in self.values)
        return (
            f"(CASE WHEN CAST({q} AS VARCHAR) IN ({listed}) THEN CAST({q} AS VARCHAR) ELSE '' END)"
        )


@dataclass
class FeatureSet:
    inputs: list[Input]
    categoricals: list[Categorical]
    group_weights: dict[str, float]
    left_out: dict[str, str]  # column -> why

    @property
    def names(self) -> list[str]:
        return [i.name for i in self.inputs]

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for i in self.inputs:
            out.setdefault(i.group, []).append(i.name)
        return out


def candidate_columns(workspace: Workspace) -> dict[str, tuple[str, str]]:
    """Profile column -> (group, role) of every column segmentation may use."""
    catalogue = Catalogue(workspace.config)
    cols = workspace.engine.columns("profiles")
    types = dict(workspace.engine.column_types("profiles"))
    out: dict[str, tuple[str, str]] = {}
    for c in cols:
        attr = catalogue.attributes.get(c)
        if attr is not None:
            if attr.segment and attr.role in ("numeric", "boolean", "categorical"):
                out[c] = (c.removeprefix(ATTRIBUTE_PREFIX), attr.role)
            continue
        if c.startswith(SCALE_PREFIX):
            out[c] = ("survey", "numeric")
        elif c.startswith(CATEGORY_PREFIX):
            out[c] = ("categories", "numeric")
        elif c in BUILTIN_GROUPS:
            if c in CATEGORICAL_BUILTINS:
                role = "categorical"
            elif c in BINARY_BUILTINS or str(types.get(c, "")).upper().startswith("BOOL"):
                role = "boolean"
            else:
                role = "numeric"
            out[c] = (BUILTIN_GROUPS[c], role)
    return out


def prepare(workspace: Workspace, eligible: str, sample_order: str, sample_size: int) -> FeatureSet:
    """Choose, transform and weight the inputs from a deterministic sample."""
    cfg = workspace.config.segments
    engine = workspace.engine
    candidates = candidate_columns(workspace)
    known_groups = {g for g, _ in candidates.values()}
    unknown = [
        n
        for n in (*cfg.weights, *(cfg.features or ()), *cfg.exclude)
        if n not in candidates and n not in known_groups
    ]
    if unknown:
        raise StageError(
            f"segments: unknown attribute or group {sorted(set(unknown))}; known groups: "
            f"{sorted(known_groups)}, attributes: {sorted(candidates)}"
        )
    chosen: dict[str, tuple[str, str]] = {}
    for c, (group, role) in candidates.items():
        if cfg.features is not None and c not in cfg.features and group not in cfg.features:
            continue
        if c in cfg.exclude or group in cfg.exclude:
            continue
        if cfg.weights.get(group, 1.0) == 0 or cfg.weights.get(c, 1.0) == 0:
            continue
        chosen[c] = (group, role)
    if not chosen:
        raise StageError("segments: no profile attribute is left to segment on")
    sample = engine.fetch_df(
        f"SELECT {', '.join(_raw_select(c, r) for c, (_, r) in chosen.items())} FROM profiles "
        f"WHERE {eligible} ORDER BY {sample_order} LIMIT {sample_size}"
    )
    left_out: dict[str, str] = {}
    staged: list[Input] = []
    raw_values: dict[str, np.ndarray] = {}
    known: dict[str, float] = {}  # column -> share of the sample that has a value
    categoricals: list[Categorical] = []
    for c, (group, role) in chosen.items():
        s = sample[c]
        missing = float(s.isna().mean()) if len(s) else 1.0
        if missing > MAX_MISSING:
            left_out[c] = f"missing for {100 * missing:.0f}% of the sample"
            continue
        known[c] = 1.0 - missing
        if role == "categorical":
            values = [str(v) for v in s.dropna().astype(str).value_counts().index]
            counts = s.dropna().astype(str).value_counts()
            values = [v for v in values if counts[v] >= 0.01 * len(s)][:ONE_HOT_VALUES]
            if len(values) < 2 and not (len(values) == 1 and counts.iloc[0] < len(s)):
                left_out[c] = "a single value"
                continue
            categoricals.append(Categorical(c, group, tuple(values)))
            # Two values (and nothing missing) are one input: the second mirrors the first.
            if len(values) == 2 and s.notna().all():
                values = values[:1]
            for v in values:
                test = f"CAST({quote_ident(c)} AS VARCHAR) = {quote_literal(v)}"
                raw = f"CAST(coalesce({test}, false) AS DOUBLE)"
                x = (s.astype(str) == v).where(s.notna(), False).astype(float)
                name = _onehot_name(c, v, staged)
                staged.append(_binary(name, c, group, raw, x, value=v))
                raw_values[name] = x.to_numpy(dtype=float)
            continue
        raw = _raw_expr(c, role)
        x = pd.to_numeric(s, errors="coerce").astype(float)
        raw_values[c] = x.to_numpy(dtype=float)
        if role == "boolean":
            staged.append(_binary(c, c, group, raw, x.fillna(x.mean())))
            continue
        staged.append(_numeric(c, group, raw, x))
    inputs = []
    for i in staged:
        if not (i.scale > 1e-9 and math.isfinite(i.scale)):
            continue
        spread = float(np.std(i.scaled(raw_values[i.name])))
        if spread > 1e-9:
            inputs.append(Input(**{**asdict(i), "spread": _round(spread)}))
    for i in staged:
        if i.name not in {j.name for j in inputs}:
            left_out[i.name] = "does not vary"
    if len(inputs) < 2:
        raise StageError("fewer than two profile attributes vary across the persons segmented")
    # Group weights: each group's inputs share its weight (w / sqrt(n) each).
    sizes: dict[str, int] = {}
    for i in inputs:
        sizes[i.group] = sizes.get(i.group, 0) + 1
    group_weights = {g: float(cfg.weights.get(g, 1.0)) for g in sizes}
    weighted = [
        Input(
            **{
                **asdict(i),
                "weight": _round(
                    group_weights[i.group]
                    * cfg.weights.get(i.name, cfg.weights.get(i.column, 1.0))
                    * known.get(i.column, 1.0)
                    / math.sqrt(sizes[i.group])
                ),
            }
        )
        for i in inputs
    ]
    return FeatureSet(weighted, categoricals, group_weights, left_out)


def _raw_select(column: str, role: str) -> str:
    q = quote_ident(column)
    if role == "categorical":
        return f"CAST({q} AS VARCHAR) AS {q}"
    return f"{_raw_expr(column, role)} AS {q}"


def _raw_expr(column: str, role: str) -> str:
    return f"CAST({quote_ident(column)} AS DOUBLE)"


def _onehot_name(column: str, value: str, taken: list[Input]) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_") or "value"
    names = {i.name for i in taken}
    name, n = f"{column}__{slug}", 2
    while name in names:
        name, n = f"{column}__{slug}_{n}", n + 1
    return name


def _binary(
    name: str, column: str, group: str, raw: str, x: pd.Series, value: str | None = None
) -> Input:
    mean = float(x.mean()) if len(x) else 0.0
    sd = float(x.std(ddof=0)) if len(x) else 0.0
    kind = "onehot" if value is not None else "binary"
    return Input(name, column, group, kind, raw, False, _round(mean), _round(sd), 1.0, value)


def _numeric(name: str, group: str, raw: str, x: pd.Series) -> Input:
    v = x.dropna().to_numpy()
    log = False
    if len(v) > 2 and v.min() >= 0:
        sd = v.std()
        skew = float(((v - v.mean()) ** 3).mean() / sd**3) if sd > 0 else 0.0
        log = skew > SKEW_LOG
    t = np.log1p(v) if log else v
    if len(t) == 0:
        return Input(name, name, group, "numeric", raw, log, 0.0, 0.0)
    center = float(np.median(t))
    q1, q3 = np.percentile(t, [25, 75])
    scale = float(q3 - q1) / 1.349
    if scale <= 1e-9:
        scale = float(t.std())
    return Input(name, name, group, "numeric", raw, log, _round(center), _round(scale))


def _round(x: float) -> float:
    # 10 significant digits: the run id hashes these, and float sums vary in the last bits.
    return float(f"{x:.10g}")


def _double(x: Any) -> str:
    return f"CAST({float(x)!r} AS DOUBLE)"
