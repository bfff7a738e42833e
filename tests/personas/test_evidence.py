"""Distinguishing attributes (personas/evidence.py) against independent oracles.

A 200-customer attribute table with noise; after the pipeline, the segments' members are
read straight from the tables and each test is redone with SciPy on the raw values
(Welch's t-test for numbers; for booleans and category levels, shares, the chi-square
test of a 2x2 table, which equals the pooled two-proportion z-test) and
Benjamini-Hochberg by hand. The rows are the segments stage's ``segment_attributes``."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from personify.config import SegmentsConfig
from personify.personas.evidence import confidence, distinguishing


def _table() -> str:
    rng = random.Random(4)
    rows = ["customer_id,plan,tenure,churn,spend"]
    for i in range(200):
        a = i < 120
        tenure = rng.gauss(12 if a else 40, 6 if a else 15)
        plan = rng.choices(["Basic", "Plus", "Max"], [0.7, 0.2, 0.1] if a else [0.2, 0.3, 0.5])[0]
        churn = rng.random() < (0.5 if a else 0.1)
        spend = rng.gauss(30, 5)  # the same in both groups
        rows.append(f"C{i},{plan},{tenure:.2f},{str(churn).lower()},{spend:.2f}")
    return "\n".join(rows) + "\n"


OPTIONS = {
    "crm": {
        "attributes": {
            "plan": {"role": "categorical"},
            "tenure": {"role": "numeric"},
            "churn": {"role": "boolean"},
            "spend": {"role": "numeric", "segment": False},
        }
    }
}


@pytest.fixture(scope="module")
def evidence(evidence_ws):
    ws, run = evidence_ws
    members = ws.engine.fetch_df(
        """SELECT p.attr_plan, p.attr_tenure, p.attr_churn, p.attr_spend, m.segment_id
        FROM profiles p JOIN segment_membership m USING (person_id) WHERE m.run_id = ?""",
        [run],
    )
    return distinguishing(ws, run), members


@pytest.fixture(scope="module")
def evidence_ws(tmp_path_factory):
    from personify import Workspace

    root = tmp_path_factory.mktemp("evidence")
    (root / "crm.csv").write_text(_table())
    sources = {
        "crm": {"kind": "customer_attributes", "path": str(root / "crm.csv"), **OPTIONS["crm"]}
    }
    ws = Workspace.init(root / "ws", sources=sources, overwrite=True)
    ws.config = ws.config.model_copy(update={"segments": SegmentsConfig(k=2, min_orders=0)})
    for stage in ("ingest", "identity", "profiles", "segments"):
        getattr(ws, stage).run()
    yield ws, ws.segments.latest_run()["run_id"]
    ws.close()


def test_means_are_tested_with_welch(evidence) -> None:
    dist, members = evidence
    for column in ("attr_tenure", "attr_spend"):
        for sid, group in members.groupby("segment_id"):
            mine = group[column].astype(float).to_numpy()
            rest = members.loc[members["segment_id"] != sid, column].astype(float).to_numpy()
            expected = stats.ttest_ind(mine, rest, equal_var=False).pvalue
            [row] = dist[(dist["attribute"] == column) & (dist["segment_id"] == sid)].itertuples()
            assert row.p_value == pytest.approx(expected, rel=1e-6, abs=1e-300)
            assert row.segment == pytest.approx(mine.mean()) and row.rest == pytest.approx(
                rest.mean()
            )
            pooled = np.sqrt(
                ((len(mine) - 1) * mine.var(ddof=1) + (len(rest) - 1) * rest.var(ddof=1))
                / (len(mine) + len(rest) - 2)
            )
            # Cohen's d, kept within +-10 as evidence.py documents
            d = np.clip((mine.mean() - rest.mean()) / pooled, -10, 10)
            assert row.effect == pytest.approx(d, rel=1e-6)


def test_category_levels_are_tested_as_two_by_two_tables(evidence) -> None:
    dist, members = evidence
    for sid in members["segment_id"].unique():
        inside = members["segment_id"] == sid
        for level in ("Basic", "Plus", "Max"):
            has = members["attr_plan"] == level
            table = [
                [int((inside & has).sum()), int((inside & ~has).sum())],
                [int((~inside & has).sum()), int((~inside & ~has).sum())],
            ]
            expected = stats.chi2_contingency(table, correction=False).pvalue
            [row] = dist[
                (dist["attribute"] == "attr_plan")
                & (dist["value"] == level)
                & (dist["segment_id"] == sid)
            ].itertuples()
            assert row.p_value == pytest.approx(expected, rel=1e-6)
            assert row.count == table[0][0]


def test_a_boolean_is_tested_as_a_share(evidence) -> None:
    dist, members = evidence
    churn = members["attr_churn"].astype(bool)
    for sid in members["segment_id"].unique():
        inside = members["segment_id"] == sid
        table = [
            [int((inside & churn).sum()), int((inside & ~churn).sum())],
            [int((~inside & churn).sum()), int((~inside & ~churn).sum())],
        ]
        expected = stats.chi2_contingency(table, correction=False).pvalue
        [row] = dist[(dist["attribute"] == "attr_churn") & (dist["segment_id"] == sid)].itertuples()
        assert row.kind == "boolean" and pd.isna(row.value)
        assert row.p_value == pytest.approx(expected, rel=1e-6)
        p1, p2 = churn[inside].mean(), churn[~inside].mean()
        assert row.segment == pytest.approx(p1) and row.count == table[0][0]
        assert row.effect == pytest.approx(2 * np.arcsin(np.sqrt(p1)) - 2 * np.arcsin(np.sqrt(p2)))


def test_the_rows_are_the_segments_stage_table(evidence_ws) -> None:
    ws, run = evidence_ws
    stored = ws.engine.fetch_df(
        "SELECT segment_id, attribute, value, effect_size, q_value FROM segment_attributes "
        "WHERE run_id = ? ORDER BY segment_id, attribute, value",
        [run],
    )
    dist = distinguishing(ws, run)
    assert len(dist) == len(stored)
    assert dist["p_adjusted"].to_numpy() == pytest.approx(stored["q_value"].to_numpy())
    assert dist["effect"].to_numpy() == pytest.approx(stored["effect_size"].to_numpy())


def test_p_values_are_corrected_by_benjamini_hochberg(evidence) -> None:
    dist, _ = evidence
    p = dist["p_value"].to_numpy()
    order = np.argsort(p)
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1)
    expected = np.empty_like(adjusted)
    expected[order] = adjusted
    assert dist["p_adjusted"].to_numpy() == pytest.approx(expected)
    # The segments split on tenure (the generating groups' strongest difference, and a
    # model input); spend, the same for everyone and not a model input, is no difference.
    significant = set(dist.loc[dist["p_adjusted"] < 0.05, "attribute"])
    assert "attr_tenure" in significant
    assert "attr_spend" not in significant


def test_confidence_levels() -> None:
    assert confidence(150, 0.0001, 0.8) == "high"
    assert confidence(150, 0.0001, 0.3) == "medium"  # a small effect is not high
    assert confidence(40, 0.005, 1.0) == "medium"
    assert confidence(20, 0.0001, 2.0) == "low"  # few persons
    assert confidence(500, 0.03, 1.0) == "low"
