"""What sets each segment apart, with the statistics behind it.

:func:`distinguishing` is the one place the persona stage learns which attributes
distinguish a segment. The tests themselves are the segments stage's
(``segments/profile.py``, table ``segment_attributes``): every numeric profile column
(Welch's t-test, Cohen's d), every boolean and every common level of every text column
as a share (the pooled two-proportion z-test, Cohen's h), the segment against the rest
of the segmented persons, p-values corrected for the whole run's tests by
Benjamini-Hochberg. This module reads that table (or, for a run stored before it had
these columns, computes the same rows with the same code) and names its columns as the
cards use them; the persona's own rule on them (corrected p under ``card.Q``, |effect|
at least ``card.MIN_EFFECT``, at least k persons) is in ``card.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from personify.segments.profile import attribute_statistics

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
# segment_attributes' column -> the name the cards use
RENAME = {
    "segment_mean": "segment",
    "rest_mean": "rest",
    "persons": "count",
    "effect_size": "effect",
    "q_value": "p_adjusted",
}


def distinguishing(ws: Workspace, run_id: str) -> pd.DataFrame:
    """One row per (segment, attribute[, level]) with the statistics in :data:`COLUMNS`."""
    engine = ws.engine
    stored = None
    if engine.has_table(SEGMENTS_TABLE) and "persons" in engine.columns(SEGMENTS_TABLE):
        stored = engine.fetch_df(
            f"SELECT * FROM {SEGMENTS_TABLE} WHERE run_id = ? AND kind IS NOT NULL "
            "ORDER BY segment_id, attribute, value",
            [run_id],
        )
    if stored is None or stored.empty:
        stored = attribute_statistics(ws, run_id)
    out = stored.rename(columns=RENAME)
    if out.empty:
        return pd.DataFrame(columns=COLUMNS)
    return out[COLUMNS].reset_index(drop=True)


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
