"""What distinguishes each segment from the rest, with effect sizes and tested.

For every numeric or boolean profile column, and every frequent value of a
categorical one (as a 0/1 share), the engine computes per segment the count, mean
and variance, and the same over all segmented persons; the rest of the persons'
figures follow from the two. Then, per segment and attribute: Cohen's d (the
difference of means over the pooled standard deviation) and Welch's t-test of
segment against rest; for 0/1 attributes (booleans, categorical values) Cohen's h
(the difference of the shares' arcsine square roots, doubled) and the
two-proportion z-test. The p-values of the whole run (segments x attributes) are
corrected by Benjamini-Hochberg; an attribute *distinguishes* a segment when its
q-value is under ``ALPHA`` and |d| is at least ``MIN_EFFECT``, so a persona never
claims a difference that is noise. Rows go to ``segment_attributes``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats as sps

from personify.ingest._readers import quote_ident, quote_literal
from personify.profiles.features import Catalogue
from personify.segments.features import CATEGORICAL_BUILTINS

if TYPE_CHECKING:
    from personify.workspace import Workspace

ALPHA = 0.01
MIN_EFFECT = 0.2
TOP_VALUES = 6
_NUMERIC = ("BIGINT", "INTEGER", "DOUBLE", "HUGEINT", "DECIMAL", "FLOAT", "BOOLEAN", "SMALLINT")


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


def write_attributes(workspace: Workspace, run_id: str) -> None:
    engine = workspace.engine
    catalogue = Catalogue(workspace.config)
    members = f"""(SELECT p.*, m.segment_id FROM profiles p JOIN segment_membership m
        USING (person_id) WHERE m.run_id = '{run_id}')"""
    items: list[tuple[str, str | None, str]] = []  # column, value, SQL
    binary: set[int] = set()  # items that are 0/1: compared as proportions
    for name, typ in engine.column_types("profiles"):
        if name == "person_id":
            continue
        if str(typ).upper().startswith(_NUMERIC):
            if str(typ).upper().startswith("BOOL"):
                binary.add(len(items))
            items.append((name, None, f"CAST({quote_ident(name)} AS DOUBLE)"))
    cats = [
        c
        for c in engine.columns("profiles")
        if c in CATEGORICAL_BUILTINS
        or (c in catalogue.attributes and catalogue.attributes[c].role == "categorical")
        or c in ("lifecycle_stage", "engagement_level", "main_device")
    ]
    for c in cats:
        q = quote_ident(c)
        values = engine.sql(
            f"""SELECT CAST({q} AS VARCHAR) FROM {members} WHERE {q} IS NOT NULL
            GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT {TOP_VALUES}"""
        ).fetchall()
        for (v,) in values:
            binary.add(len(items))
            items.append(
                (
                    c,
                    str(v),
                    f"CASE WHEN CAST({q} AS VARCHAR) = {quote_literal(str(v))} "
                    "THEN CAST(1 AS DOUBLE) WHEN "
                    + f"{q} IS NULL THEN NULL ELSE CAST(0 AS DOUBLE) END",
                )
            )
    if not items:
        return
    aggs = ", ".join(
        f"count({e}) AS n{i}, avg({e}) AS m{i}, var_pop({e}) AS v{i}"
        for i, (_, _, e) in enumerate(items)
    )
    per = engine.fetch_df(f"SELECT segment_id, {aggs} FROM {members} GROUP BY segment_id")
    tot = engine.fetch_df(f"SELECT {aggs} FROM {members}").iloc[0]
    rows: list[list[Any]] = []
    for seg in per.itertuples(index=False):
        d = seg._asdict()
        for i, (col, value, _) in enumerate(items):
            n_s, m_s, v_s = d[f"n{i}"], d[f"m{i}"], d[f"v{i}"]
            n_t, m_t, v_t = tot[f"n{i}"], tot[f"m{i}"], tot[f"v{i}"]
            if not n_s or not n_t or n_t - n_s < 2 or n_s < 2 or _nan(m_s) or _nan(m_t):
                continue
            n_r = n_t - n_s
            m_r = (n_t * m_t - n_s * m_s) / n_r
            ss_r = n_t * (v_t + m_t**2) - n_s * (v_s + m_s**2)
            v_r = max(ss_r / n_r - m_r**2, 0.0)
            # Sample variances for the test; population ones pooled for Cohen's d.
            if i in binary:
                rows.append(
                    [
                        int(d["segment_id"]),
                        col,
                        value,
                        *_proportions(catalogue, col, value, n_s, m_s, n_r, m_r),
                    ]
                )
                continue
            vs, vr = v_s * n_s / (n_s - 1), v_r * n_r / (n_r - 1)
            pooled = math.sqrt(((n_s - 1) * vs + (n_r - 1) * vr) / (n_s + n_r - 2))
            if pooled <= 1e-12:
                continue
            effect = (m_s - m_r) / pooled
            se = math.sqrt(vs / n_s + vr / n_r)
            if se <= 1e-12:
                continue
            t = (m_s - m_r) / se
            df = (
                se**4 / ((vs / n_s) ** 2 / max(n_s - 1, 1) + (vr / n_r) ** 2 / max(n_r - 1, 1))
                if (vs > 0 or vr > 0)
                else n_s + n_r - 2
            )
            p = float(2 * sps.t.sf(abs(t), df))
            f = catalogue.describe(col)
            label = f.label if value is None else f"{f.label}: {value}"
            rows.append(
                [int(d["segment_id"]), col, value, label, float(m_s), float(m_r), float(effect), p]
            )
    if not rows:
        return
    qvalues = benjamini_hochberg(np.array([r[-1] for r in rows]))
    for r, qv in zip(rows, qvalues, strict=True):
        r.append(float(qv))
        r.append(bool(float(qv) < ALPHA and abs(float(r[6])) >= MIN_EFFECT))
    engine.delete_rows("segment_attributes", "run_id = ?", [run_id])
    import pandas as pd

    frame = pd.DataFrame(
        rows,
        columns=[
            "segment_id",
            "attribute",
            "value",
            "label",
            "segment_mean",
            "rest_mean",
            "effect_size",
            "p_value",
            "q_value",
            "distinguishing",
        ],
    )
    frame.insert(0, "run_id", run_id)
    import pyarrow as pa

    engine.append_arrow("segment_attributes", pa.Table.from_pandas(frame, preserve_index=False))


def _proportions(
    catalogue: Catalogue, col: str, value: str | None, n_s: int, p_s: float, n_r: int, p_r: float
) -> list[Any]:
    """label, shares, Cohen's h and the two-proportion z-test's p-value."""
    f = catalogue.describe(col)
    label = f.label if value is None else f"{f.label}: {value}"
    p_s, p_r = min(max(p_s, 0.0), 1.0), min(max(p_r, 0.0), 1.0)
    h = 2 * math.asin(math.sqrt(p_s)) - 2 * math.asin(math.sqrt(p_r))
    pooled = (n_s * p_s + n_r * p_r) / (n_s + n_r)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_s + 1 / n_r))
    p = 1.0 if se <= 0 else float(2 * sps.norm.sf(abs(p_s - p_r) / se))
    return [label, float(p_s), float(p_r), float(h), p]


def _nan(x: object) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))
