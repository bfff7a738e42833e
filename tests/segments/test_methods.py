"""SegmentModel's four methods, k by criterion and stability, and the BH correction."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from personify.segments import SegmentModel
from personify.segments.profile import benjamini_hochberg


@pytest.fixture(scope="module")
def blobs():
    return make_blobs(n_samples=900, centers=4, n_features=4, cluster_std=0.7, random_state=3)


@pytest.mark.parametrize("method", ["kmeans", "gmm"])
def test_auto_k_finds_four_separated_groups_and_is_stable(blobs, method) -> None:
    X, y = blobs
    m = SegmentModel(method=method, k_range=(2, 6), bootstrap=3, random_state=0).fit(X)
    assert m.n_clusters_ == 4
    assert adjusted_rand_score(y, m.labels_) > 0.95
    assert m.stability_ > 0.95
    assert [r["k"] for r in m.selection_] == [2, 3, 4, 5, 6]
    assert sum(r["chosen"] for r in m.selection_) == 1
    # What assigns new rows (and what the SQL computes) gives the fit's own labels.
    assert (m.predict(X) == m.labels_).mean() > 0.99


def test_gmm_is_chosen_by_bic(blobs) -> None:
    X, _ = blobs
    m = SegmentModel(method="gmm", k_range=(2, 6), bootstrap=2, random_state=0).fit(X)
    chosen = next(r for r in m.selection_ if r["chosen"])
    stable = [r for r in m.selection_ if r["stability"] >= 0.85]
    assert chosen["bic"] == min(r["bic"] for r in stable)
    assert "BIC" in m.reason_


def test_kprototypes_uses_the_categorical_inputs() -> None:
    rng = np.random.default_rng(1)
    # Two groups that differ only in a categorical: the numeric input is pure noise.
    y = np.repeat([0, 1], 150)
    X = rng.normal(size=(300, 1))
    C = np.where(y[:, None] == 0, "a", "b").astype(object)
    C[rng.random(300) < 0.05] = "c"
    m = SegmentModel(method="kprototypes", k=2, bootstrap=1, random_state=0).fit(X, C)
    assert adjusted_rand_score(y, m.labels_) > 0.8
    assert set(m.params_["modes"][:, 0]) == {"a", "b"}


def test_hdbscan_leaves_scattered_outliers_unassigned() -> None:
    X, _ = make_blobs(
        n_samples=600, centers=[[0, 0], [8, 0], [0, 8]], cluster_std=0.6, random_state=5
    )
    outliers = np.array([[30.0, 30.0], [-30.0, 25.0], [25.0, -30.0]])
    m = SegmentModel(method="hdbscan", bootstrap=1, random_state=0).fit(np.vstack([X, outliers]))
    assert m.n_clusters_ == 3
    assert (m.predict(outliers) == -1).all()
    assert (m.predict(X) >= 0).mean() > 0.9


def test_bad_method_gets_the_estimator_error_template() -> None:
    with pytest.raises(ValueError, match=r"The 'method' parameter of SegmentModel must be"):
        SegmentModel(method="spectral").fit(np.zeros((50, 2)) + np.arange(50)[:, None])


def test_benjamini_hochberg_matches_the_worked_example() -> None:
    # Benjamini & Hochberg (1995)-style worked example, computed by hand:
    # sorted p 0.01, 0.02, 0.03, 0.04, 0.20 (n=5) -> p*n/rank 0.05, 0.05, 0.05, 0.05, 0.20.
    p = np.array([0.04, 0.01, 0.20, 0.03, 0.02])
    assert benjamini_hochberg(p) == pytest.approx([0.05, 0.05, 0.20, 0.05, 0.05])
    # monotone step-up: a later smaller ratio lowers earlier q-values
    assert benjamini_hochberg(np.array([0.01, 0.04, 0.041])) == pytest.approx([0.03, 0.041, 0.041])


def test_welch_test_in_the_stage_matches_scipy(make_workspace) -> None:
    """segment_attributes' p-values and Cohen's d against scipy on the raw columns."""
    rng = np.random.default_rng(4)
    n = 120
    tenure = np.r_[rng.normal(10, 3, 60), rng.normal(30, 5, 60)].round(1)
    fee = np.r_[rng.normal(20, 4, 60), rng.normal(50, 6, 60)].round(2)
    noise = rng.normal(0, 1, n).round(3)
    vip = np.r_[rng.random(60) < 0.2, rng.random(60) < 0.7]
    rows = "".join(
        f"C{i},{tenure[i]},{fee[i]},{noise[i]},{str(vip[i]).lower()}\n" for i in range(n)
    )
    ws = make_workspace(
        {"plans": ("customers", "plans.csv", "customer_id,tenure,fee,noise,vip\n" + rows)},
        plans={
            "attributes": {
                "tenure": {"role": "numeric"},
                "fee": {"role": "numeric"},
                "noise": {"role": "numeric"},
                "vip": {"role": "boolean", "segment": False},
            }
        },
    )
    segments = ws.config.segments.model_copy(update={"k": 2, "bootstrap": 1})
    ws.config = ws.config.model_copy(update={"segments": segments})
    ws.ingest.run()
    ws.identity.run()
    ws.profiles.run()
    result = ws.segments.run()  # no purchases at all: everyone is segmented
    assert result.customers == n and result.k == 2
    got = ws.engine.fetch_df(
        "SELECT * FROM segment_attributes WHERE run_id = ? AND segment_id = 1", [result.run_id]
    ).set_index("attribute")
    members = ws.engine.fetch_df(
        "SELECT p.attr_tenure, p.attr_fee, p.attr_noise, p.attr_vip, m.segment_id FROM profiles p "
        "JOIN segment_membership m USING (person_id) WHERE m.run_id = ?",
        [result.run_id],
    )
    inside = members["segment_id"] == 1
    for col in ("attr_tenure", "attr_fee", "attr_noise"):
        a, b = members.loc[inside, col], members.loc[~inside, col]
        want = stats.ttest_ind(a, b, equal_var=False).pvalue
        assert got.loc[col, "p_value"] == pytest.approx(want, rel=1e-6, abs=1e-300)
        pooled = np.sqrt(((len(a) - 1) * a.var() + (len(b) - 1) * b.var()) / (len(a) + len(b) - 2))
        assert got.loc[col, "effect_size"] == pytest.approx((a.mean() - b.mean()) / pooled)
    assert got.loc["attr_fee", "distinguishing"] and not got.loc["attr_noise", "distinguishing"]
    # A boolean is compared as a share: the z-test's p equals the uncorrected chi-square's.
    table = pd.crosstab(inside, members["attr_vip"].astype(bool))
    want = stats.chi2_contingency(table.to_numpy(), correction=False).pvalue
    assert got.loc["attr_vip", "p_value"] == pytest.approx(want, rel=1e-6)
    p_in, p_out = members.loc[inside, "attr_vip"].mean(), members.loc[~inside, "attr_vip"].mean()
    h = 2 * np.arcsin(np.sqrt(p_in)) - 2 * np.arcsin(np.sqrt(p_out))
    assert got.loc["attr_vip", "effect_size"] == pytest.approx(h)
