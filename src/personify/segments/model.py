"""The segmentation model: scaled features, k-means, k chosen by silhouette.

It follows the scikit-learn estimator contract (the constructor only stores
arguments, ``fit`` validates and returns ``self``, learned values end in ``_``)
and is deterministic given ``random_state``.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score


class KSelectingKMeans:
    """k-means whose k is fixed, or picked from ``k_range`` by the silhouette on a subsample.

    Inputs are already standardised (the engine scales every customer the same
    way), so the centroids can be used to score rows inside the database.
    """

    def __init__(
        self,
        *,
        k: int | str = "auto",
        k_range: tuple[int, int] = (3, 6),
        random_state: int = 42,
        silhouette_sample: int = 5000,
    ) -> None:
        self.k = k
        self.k_range = k_range
        self.random_state = random_state
        self.silhouette_sample = silhouette_sample

    def _check_params(self, n_rows: int) -> list[int]:
        if self.k == "auto":
            low, high = self.k_range
            if not (isinstance(low, int) and isinstance(high, int) and 2 <= low <= high):
                raise ValueError(
                    "The 'k_range' parameter of KSelectingKMeans must be (low, high) with "
                    f"2 <= low <= high. Got {self.k_range!r} instead."
                )
            candidates = list(range(low, high + 1))
        elif isinstance(self.k, int) and not isinstance(self.k, bool) and 2 <= self.k <= 12:
            candidates = [self.k]
        else:
            raise ValueError(
                "The 'k' parameter of KSelectingKMeans must be 'auto' or an int in [2, 12]. "
                f"Got {self.k!r} instead."
            )
        candidates = [c for c in candidates if c < n_rows]
        if not candidates:
            raise ValueError(f"KSelectingKMeans needs more rows than clusters; got {n_rows} rows.")
        return candidates

    def fit(self, X: np.ndarray) -> KSelectingKMeans:
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or not np.isfinite(X).all():
            raise ValueError("KSelectingKMeans expects a finite 2-D array of scaled features.")
        candidates = self._check_params(len(X))
        self.silhouettes_: dict[int, float] = {}
        best: tuple[float, KMeans] | None = None
        for k in candidates:
            model = KMeans(n_clusters=k, n_init=10, random_state=self.random_state).fit(X)
            score = float(
                silhouette_score(
                    X,
                    model.labels_,
                    sample_size=min(self.silhouette_sample, len(X)),
                    random_state=self.random_state,
                )
            )
            self.silhouettes_[k] = score
            if best is None or score > best[0]:
                best = (score, model)
        assert best is not None
        self.silhouette_, model = best
        self.n_clusters_ = int(model.n_clusters)
        self.cluster_centers_ = model.cluster_centers_
        self.labels_ = model.labels_
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        d = ((np.asarray(X, dtype=float)[:, None, :] - self.cluster_centers_[None]) ** 2).sum(-1)
        return d.argmin(axis=1)
