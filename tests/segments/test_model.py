import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from personify.segments import KSelectingKMeans


def test_auto_k_finds_well_separated_groups() -> None:
    X, y = make_blobs(n_samples=1200, centers=4, n_features=5, cluster_std=0.6, random_state=3)
    model = KSelectingKMeans(k="auto", k_range=(2, 7), random_state=0).fit(X)
    assert model.n_clusters_ == 4
    assert adjusted_rand_score(y, model.labels_) > 0.95
    assert set(model.silhouettes_) == set(range(2, 8))


def test_same_seed_same_model() -> None:
    X, _ = make_blobs(n_samples=500, centers=3, n_features=4, random_state=1)
    a = KSelectingKMeans(k=3, random_state=5).fit(X)
    b = KSelectingKMeans(k=3, random_state=5).fit(X)
    assert np.array_equal(a.cluster_centers_, b.cluster_centers_)
    assert np.array_equal(a.predict(X), a.labels_)


@pytest.mark.parametrize("k", ["five", 1, 40, True])
def test_bad_k_gets_the_estimator_error_template(k) -> None:
    with pytest.raises(ValueError, match=r"The 'k' parameter of KSelectingKMeans must be .* Got "):
        KSelectingKMeans(k=k).fit(np.random.default_rng(0).normal(size=(50, 3)))


def test_non_finite_input_is_refused() -> None:
    X = np.ones((20, 2))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        KSelectingKMeans(k=2).fit(X)
