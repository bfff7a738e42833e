"""What sets each segment apart, with the statistics behind it.

:func:`distinguishing` is the one place the persona stage learns which attributes
distinguish a segment: every numeric and boolean profile column (a boolean's mean is a
share) and every level of every categorical column, the segment against the rest of the
segmented customers, with an effect size, a two-sided p-value and a p-value corrected
for the whole run's tests (Benjamini-Hochberg, so at most ``q`` of the kept differences
are expected to be false). The aggregates are sums and counts computed in the engine;
the tests run on them in Python (Welch's t-test for means, the pooled two-proportion
z-test for shares), so the cost does not grow with the number of profiles beyond one
scan.

When the segmentation stage writes its own table of distinguishing attributes
(``segment_attributes``: run_id, segment_id, attribute, value, kind, segment, rest,
n_segment, n_rest, count, effect, p_value, p_adjusted), it is read instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from personify.ingest._readers import quote_ident

if TYPE_CHECKING:
    from personify.workspace import Workspace

SEGMENTS_TABLE = "segment_attributes"
COLUMNS = [
    "segment_id",
    "attribute",
    "value",
    "kind",
    "segment",
    "rest",
    "population",
    "n_segment",
    "n_rest",
    "count",
    "effect",
    "p_value",
    "p_adjusted",
]
# Columns never compared: ids, free text, and values that could point at a person.
SKIP = {"person_id", "postcode", "sources", "revenue_12m"}
NUMERIC = ("BIGINT", "INTEGER", "DOUBLE", "HUGEINT", "DECIMAL", "FLOAT", "BOOLEAN", "SMALLINT")
TEXT = ("VARCHAR",)
MAX_LEVELS = 60  # a categorical column with more levels is compared on its most common


def distinguishing(ws: Workspace, run_id: str) -> pd.DataFrame:
    """One row per (segment, attribute[, level]) with the statistics in :data:`COLUMNS`."""
    engine = ws.engine
    if engine.has_table(SEGMENTS_TABLE):
        stored = engine.fetch_df(f"SELECT * FROM {SEGMENTS_TABLE} WHERE run_id = ?", [run_id])
        if not stored.empty and set(COLUMNS) - {"population"} <= set(stored.columns):
            if "population" not in stored:
                stored["population"] = np.nan
            return stored[COLUMNS]
    members = f"""(SELECT p.*, m.segment_id FROM profiles p JOIN segment_membership m
        USING (person_id) WHERE m.run_id = '{run_id}')"""
    types = dict(engine.column_types("profiles"))
    numeric = [c for c, t in types.items() if c not in SKIP and t.startswith(NUMERIC)]
    text = [c for c, t in types.items() if c not in SKIP and t.startswith(TEXT)]
    frames = [_numeric(ws, members, numeric), _categorical(ws, members, text)]
    out = pd.concat([f for f in frames if not f.empty], ignore_index=True)
    if out.empty:
        return pd.DataFrame(columns=COLUMNS)
    out["p_adjusted"] = adjust(out["p_value"].to_numpy())
    return out[COLUMNS]


def adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaN stays NaN)."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = stats.false_discovery_control(p[ok], method="bh")
    return out


def _numeric(ws: Workspace, members: str, columns: list[str]) -> pd.DataFrame:
    if not columns:
        return pd.DataFrame()
    parts = []
    for i, c in enumerate(columns):
        x = f"CAST({quote_ident(c)} AS DOUBLE)"
        parts.append(f"count({x}) AS n{i}, sum({x}) AS s{i}, sum({x} * {x}) AS q{i}")
    agg = ws.engine.fetch_df(
        f"SELECT segment_id, {', '.join(parts)} FROM {members} GROUP BY segment_id "
        "ORDER BY segment_id"
    )
    types = dict(ws.engine.column_types("profiles"))
    rows = []
    for i, c in enumerate(columns):
        n = agg[f"n{i}"].to_numpy(dtype=float)
        s = agg[f"s{i}"].fillna(0).to_numpy(dtype=float)
        q = agg[f"q{i}"].fillna(0).to_numpy(dtype=float)
        big_n, big_s, big_q = n.sum(), s.sum(), q.sum()
        for j, sid in enumerate(agg["segment_id"]):
            n1, n2 = n[j], big_n - n[j]
            if n1 < 2 or n2 < 2:
                continue
            m1, m2 = s[j] / n1, (big_s - s[j]) / n2
            v1 = max((q[j] - n1 * m1 * m1) / (n1 - 1), 0.0)
            v2 = max((big_q - q[j] - n2 * m2 * m2) / (n2 - 1), 0.0)
            se2 = v1 / n1 + v2 / n2
            pooled = np.sqrt(((n1 - 1) * v1 + (n2 - 1) * v2) / (n1 + n2 - 2))
            if se2 <= 0:
                p = 1.0 if m1 == m2 else 0.0
            else:
                t = (m1 - m2) / np.sqrt(se2)
                df = se2**2 / ((v1 / n1) ** 2 / (n1 - 1) + (v2 / n2) ** 2 / (n2 - 1) + 1e-300)
                p = float(2 * stats.t.sf(abs(t), df))
            boolean = types[c].startswith("BOOLEAN")
            rows.append(
                {
                    "segment_id": int(sid),
                    "attribute": c,
                    "value": None,
                    "kind": "boolean" if boolean else "numeric",
                    "segment": m1,
                    "rest": m2,
                    "population": big_s / big_n,
                    "n_segment": int(n1),
                    "n_rest": int(n2),
                    # persons behind the figure: those with a value (true, for a share)
                    "count": round(s[j]) if boolean else int(n1),
                    "effect": _effect(m1 - m2, pooled),
                    "p_value": p,
                }
            )
    return pd.DataFrame(rows)


def _effect(difference: float, sd: float) -> float:
    """Cohen's d, kept within +-10 (no spread at all and a difference: +-10)."""
    if sd > 0:
        return float(np.clip(difference / sd, -10.0, 10.0))
    return 0.0 if difference == 0 else float(np.sign(difference) * 10.0)


def _categorical(ws: Workspace, members: str, columns: list[str]) -> pd.DataFrame:
    if not columns:
        return pd.DataFrame()
    parts = [
        f"""SELECT {i} AS col, segment_id, CAST({quote_ident(c)} AS VARCHAR) AS value,
            count(*) AS n FROM {members} WHERE {quote_ident(c)} IS NOT NULL
            GROUP BY segment_id, CAST({quote_ident(c)} AS VARCHAR)"""
        for i, c in enumerate(columns)
    ]
    counts = ws.engine.fetch_df(" UNION ALL ".join(parts))
    rows = []
    for i, c in enumerate(columns):
        df = counts[counts["col"] == i]
        if df.empty:
            continue
        per_seg = df.groupby("segment_id")["n"].sum()
        total = float(per_seg.sum())
        top = df.groupby("value")["n"].sum().sort_values(ascending=False).index[:MAX_LEVELS]
        table = df.pivot_table(index="segment_id", columns="value", values="n", fill_value=0)
        for value in top:
            everyone = float(table[value].sum())
            for sid, n1 in per_seg.items():
                x1 = float(table.at[sid, value]) if sid in table.index else 0.0
                n2 = total - n1
                if n1 < 1 or n2 < 1:
                    continue
                x2 = everyone - x1
                p1, p2 = x1 / n1, x2 / n2
                pooled = everyone / total
                se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
                p = 1.0 if se <= 0 else float(2 * stats.norm.sf(abs(p1 - p2) / se))
                h = 2 * np.arcsin(np.sqrt(p1)) - 2 * np.arcsin(np.sqrt(p2))  # Cohen's h
                rows.append(
                    {
                        "segment_id": int(sid),
                        "attribute": c,
                        "value": str(value),
                        "kind": "category",
                        "segment": p1,
                        "rest": p2,
                        "population": pooled,
                        "n_segment": int(n1),
                        "n_rest": int(n2),
                        "count": int(x1),
                        "effect": float(h),
                        "p_value": p,
                    }
                )
    return pd.DataFrame(rows)


def confidence(n: int, p_adjusted: float | None, effect: float | None = None) -> str:
    """high / medium / low from the persons behind a statement and how sure the test is.

    high: at least 100 persons, corrected p below 0.001 and a medium effect (|d| or |h|
    at least 0.5); medium: at least 30 persons and corrected p below 0.01; else low."""
    p = 1.0 if p_adjusted is None or pd.isna(p_adjusted) else float(p_adjusted)
    e = 0.0 if effect is None or pd.isna(effect) else abs(float(effect))
    if n >= 100 and p < 0.001 and e >= 0.5:
        return "high"
    if n >= 30 and p < 0.01:
        return "medium"
    return "low"
