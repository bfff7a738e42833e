"""What distinguishes each segment from the rest, with effect sizes and tested.

For every numeric or boolean profile column, and each of the (up to ``MAX_LEVELS``)
most common values of every text column (as a share of the persons with a value),
except the columns in ``SKIP`` (ids, postcode), the engine computes per segment the
count, mean and variance, and the same over all segmented persons; the rest of the
persons' figures follow from the two. Then, per segment and attribute: Cohen's d (the
difference of means over the pooled standard deviation) and Welch's t-test of
segment against rest; for 0/1 attributes (booleans, categorical values) Cohen's h
(the difference of the shares' arcsine square roots, doubled) and the
two-proportion z-test. The p-values of the whole run (segments x attributes) are
corrected by Benjamini-Hochberg; an attribute *distinguishes* a segment when its
q-value is under ``ALPHA`` and |d| is at least ``MIN_EFFECT``, so a persona never
claims a difference that is noise. Rows go to ``segment_attributes``; the persona
stage reads them (``personas/evidence.py``, with its own, looser rule: corrected p
under 0.05, |effect| at least 0.2 and at least k persons behind the figure).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats as sps

from personify.ingest._readers import quote_ident, quote_literal
from personify.profiles.features import Catalogue

if TYPE_CHECKING:
    from personify.workspace import Workspace

ALPHA = 0.01
MIN_EFFECT = 0.2
_NUMERIC = (
    "BIGINT",
    "INTEGER",
    "DOUBLE",
    "HUGEINT",
    "DECIMAL",
    "FLOAT",
    "BOOLEAN",
    "SMALLINT",
    "REAL",
)


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input's order."""
    p = np.asarray(p, dtype=float)
    n = len(p)
    if n == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out


# Columns never compared: ids, free text and values that could point at a person.
SKIP = {"person_id", "postcode", "sources", "revenue_12m"}
MAX_LEVELS = 60  # a categorical column is compared on its most common values
COLUMNS = [
    "segment_id",
    "attribute",
    "value",
    "kind",
    "label",
    "segment_mean",
    "rest_mean",
    "population",
    "n_segment",
    "n_rest",
    "persons",
    "effect_size",
    "p_value",
    "q_value",
    "distinguishing",
]


def attribute_statistics(workspace: Workspace, run_id: str) -> pd.DataFrame:
    """Every (segment, attribute[, value]) of a run, tested against the rest: :data:`COLUMNS`.

    The one implementation of the tests: the stage stores it as ``segment_attributes``
    and the persona stage reads that table (``personas/evidence.py``)."""
    engine = workspace.engine
    catalogue = Catalogue(workspace.config)
    members = f"""(SELECT p.*, m.segment_id FROM profiles p JOIN segment_membership m
        USING (person_id) WHERE m.run_id = {quote_literal(run_id)})"""
    types = [(c, str(t).upper()) for c, t in engine.column_types("profiles") if c not in SKIP]
    numeric = [(c, t.startswith("BOOL")) for c, t in types if t.startswith(_NUMERIC)]
    text = [c for c, t in types if t.startswith(("VARCHAR", "STRING"))]
    rows = _numeric_rows(engine, catalogue, members, numeric) + _category_rows(
        engine, catalogue, members, text
    )
    if not rows:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.DataFrame(rows)
    out["q_value"] = benjamini_hochberg(out["p_value"].to_numpy(dtype=float))
    out["distinguishing"] = (out["q_value"] < ALPHA) & (out["effect_size"].abs() >= MIN_EFFECT)
    return out[COLUMNS]


def write_attributes(workspace: Workspace, run_id: str) -> None:
    frame = attribute_statistics(workspace, run_id)
    engine = workspace.engine
    engine.delete_rows("segment_attributes", "run_id = ?", [run_id])
    if frame.empty:
        return
    frame.insert(0, "run_id", run_id)
    frame["value"] = frame["value"].astype(object).where(frame["value"].notna(), None)
    for c in ("n_segment", "n_rest", "persons"):
        frame[c] = frame[c].astype("int64")
    frame["distinguishing"] = frame["distinguishing"].astype(bool)
    frame = frame[engine.columns("segment_attributes")]  # INSERT ... SELECT * is positional
    engine.append_arrow("segment_attributes", pa.Table.from_pandas(frame, preserve_index=False))


def _numeric_rows(
    engine: Any, catalogue: Catalogue, members: str, columns: list[tuple[str, bool]]
) -> list[dict[str, Any]]:
    """Welch's t-test and Cohen's d per numeric column; booleans as shares."""
    if not columns:
        return []
    exprs = [f"CAST({quote_ident(c)} AS DOUBLE)" for c, _ in columns]
    aggs = ", ".join(
        f"count({e}) AS n{i}, avg({e}) AS m{i}, var_pop({e}) AS v{i}" for i, e in enumerate(exprs)
    )
    per = engine.fetch_df(f"SELECT segment_id, {aggs} FROM {members} GROUP BY segment_id")
    per = per.sort_values("segment_id")
    tot = engine.fetch_df(f"SELECT {aggs} FROM {members}").iloc[0]
    rows: list[dict[str, Any]] = []
    for seg in per.to_dict("records"):
        for i, (col, boolean) in enumerate(columns):
            n_s, m_s, v_s = seg[f"n{i}"], seg[f"m{i}"], seg[f"v{i}"]
            n_t, m_t, v_t = tot[f"n{i}"], tot[f"m{i}"], tot[f"v{i}"]
            if not n_s or not n_t or n_t - n_s < 2 or n_s < 2 or _nan(m_s) or _nan(m_t):
                continue
            n_s, n_t = int(n_s), int(n_t)
            n_r = n_t - n_s
            m_r = (n_t * m_t - n_s * m_s) / n_r
            ss_r = n_t * (v_t + m_t**2) - n_s * (v_s + m_s**2)
            v_r = max(ss_r / n_r - m_r**2, 0.0)
            label = catalogue.describe(col).label
            base = {
                "segment_id": int(seg["segment_id"]),
                "attribute": col,
                "value": None,
                "label": label,
                "population": float(m_t),
                "n_segment": n_s,
                "n_rest": n_r,
            }
            if boolean:
                h, p = _two_proportions(n_s, float(m_s), n_r, float(m_r))
                rows.append(
                    base
                    | {
                        "kind": "boolean",
                        "segment_mean": float(m_s),
                        "rest_mean": float(m_r),
                        "persons": round(float(m_s) * n_s),
                        "effect_size": h,
                        "p_value": p,
                    }
                )
                continue
            # Sample variances for the test and for the pooled standard deviation of d.
            vs, vr = max(v_s, 0.0) * n_s / (n_s - 1), v_r * n_r / (n_r - 1)
            pooled = math.sqrt(((n_s - 1) * vs + (n_r - 1) * vr) / (n_s + n_r - 2))
            se2 = vs / n_s + vr / n_r
            if se2 <= 0:
                p = 1.0 if m_s == m_r else 0.0
            else:
                t = (m_s - m_r) / math.sqrt(se2)
                df = se2**2 / ((vs / n_s) ** 2 / (n_s - 1) + (vr / n_r) ** 2 / (n_r - 1) + 1e-300)
                p = float(2 * sps.t.sf(abs(t), df))
            rows.append(
                base
                | {
                    "kind": "numeric",
                    "segment_mean": float(m_s),
                    "rest_mean": float(m_r),
                    "persons": n_s,
                    "effect_size": cohens_d(float(m_s - m_r), pooled),
                    "p_value": p,
                }
            )
    return rows


def cohens_d(difference: float, sd: float) -> float:
    """Cohen's d, kept within +-10 (no spread at all and a difference: +-10)."""
    if sd > 1e-12:
        return float(np.clip(difference / sd, -10.0, 10.0))
    return 0.0 if difference == 0 else float(np.sign(difference) * 10.0)


def _two_proportions(n_s: int, p_s: float, n_r: int, p_r: float) -> tuple[float, float]:
    """Cohen's h and the pooled two-proportion z-test's two-sided p-value."""
    p_s, p_r = min(max(p_s, 0.0), 1.0), min(max(p_r, 0.0), 1.0)
    h = 2 * math.asin(math.sqrt(p_s)) - 2 * math.asin(math.sqrt(p_r))
    pooled = (n_s * p_s + n_r * p_r) / (n_s + n_r)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_s + 1 / n_r))
    p = 1.0 if se <= 0 else float(2 * sps.norm.sf(abs(p_s - p_r) / se))
    return float(h), p


def _category_rows(
    engine: Any, catalogue: Catalogue, members: str, columns: list[str]
) -> list[dict[str, Any]]:
    """Each frequent value of a text column as a share of the persons with a value."""
    if not columns:
        return []
    parts = [
        f"""SELECT {i} AS col, segment_id, CAST({quote_ident(c)} AS VARCHAR) AS value,
            count(*) AS n FROM {members} WHERE {quote_ident(c)} IS NOT NULL
            GROUP BY segment_id, CAST({quote_ident(c)} AS VARCHAR)"""
        for i, c in enumerate(columns)
    ]
    counts = engine.fetch_df(" UNION ALL ".join(parts))
    rows: list[dict[str, Any]] = []
    for i, col in enumerate(columns):
        df = counts[counts["col"] == i]
        if df.empty:
            continue
        per_seg = df.groupby("segment_id")["n"].sum().sort_index()
        total = int(per_seg.sum())
        by_value = df.groupby("value")["n"].sum()
        top = sorted(by_value.index, key=lambda v: (-int(by_value[v]), str(v)))[:MAX_LEVELS]
        cell = {
            (int(s), str(v)): int(n)
            for s, v, n in zip(df["segment_id"], df["value"], df["n"], strict=True)
        }
        label = catalogue.describe(col).label
        for value in top:
            everyone = int(by_value[value])
            for sid, n1 in per_seg.items():
                n1 = int(n1)
                n2 = total - n1
                if n1 < 1 or n2 < 1:
                    continue
                x1 = cell.get((int(sid), str(value)), 0)
                p1, p2 = x1 / n1, (everyone - x1) / n2
                h, p = _two_proportions(n1, p1, n2, p2)
                rows.append(
                    {
                        "segment_id": int(sid),
                        "attribute": col,
                        "value": str(value),
                        "kind": "category",
                        "label": f"{label}: {value}",
                        "segment_mean": p1,
                        "rest_mean": p2,
                        "population": everyone / total,
                        "n_segment": n1,
                        "n_rest": n2,
                        "persons": x1,
                        "effect_size": h,
                        "p_value": p,
                    }
                )
    return rows


def _nan(x: object) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))
