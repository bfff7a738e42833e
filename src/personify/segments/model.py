"""The segmentation models: k-means, Gaussian mixture, k-prototypes, HDBSCAN.

``SegmentModel`` puts the four behind one interface and chooses k from internal
criteria together with bootstrap stability; ``KSelectingKMeans`` is the plain
k-means whose k the silhouette alone picks.

It follows the scikit-learn estimator contract (the constructor only stores
arguments, ``fit`` validates and returns ``self``, learned values end in ``_``)
and is deterministic given ``random_state``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.cluster import HDBSCAN, KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.mixture import GaussianMixture


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


METHODS = ("kmeans", "gmm", "kprototypes", "hdbscan")
MAX_FIT_ROWS = {"kprototypes": 8000, "hdbscan": 10000}


def _fit_one(
    method: str, X: np.ndarray, C: np.ndarray | None, k: int, seed: int, min_cluster_size: int
) -> dict[str, Any]:
    """One fit: its labels on X and the parameters that assign new rows."""
    if method == "kmeans":
        km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(X)
        return {"labels": km.labels_, "centers": km.cluster_centers_}
    if method == "gmm":
        gm = GaussianMixture(
            n_components=k, covariance_type="diag", n_init=2, reg_covar=1e-3, random_state=seed
        ).fit(X)
        return {
            "labels": gm.predict(X),
            "centers": gm.means_,
            "variances": gm.covariances_,
            "weights": gm.weights_,
            "bic": float(gm.bic(X)),
        }
    if method == "kprototypes":
        from kmodes.kprototypes import KPrototypes

        assert C is not None and C.shape[1] > 0
        n_num = X.shape[1]
        data = np.empty((len(X), n_num + C.shape[1]), dtype=object)
        data[:, :n_num] = X
        data[:, n_num:] = C
        # gamma: a mismatch costs 2, what two random persons differ by in a group of
        # unit variance (the inputs' group weights give each group about that), so one
        # categorical counts like one group of numeric inputs.
        gamma = 2.0
        kp = KPrototypes(
            n_clusters=k, init="Cao", n_init=1, gamma=gamma, random_state=seed, max_iter=50
        )
        labels = kp.fit_predict(data, categorical=list(range(n_num, n_num + C.shape[1])))
        centers = np.asarray(kp.cluster_centroids_[:, :n_num], dtype=float)
        modes = np.asarray(kp.cluster_centroids_[:, n_num:], dtype=object)
        return {
            "labels": np.asarray(labels),
            "centers": centers,
            "modes": modes,
            "gamma": gamma,
        }
    if method == "hdbscan":
        hd = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=10, copy=True).fit(X)
        labels = hd.labels_
        ids = [c for c in sorted(set(labels)) if c >= 0]
        if not ids:
            return {
                "labels": np.full(len(X), -1),
                "centers": X.mean(axis=0, keepdims=True),
                "radius": np.array([np.inf]),
            }
        remap = {c: i for i, c in enumerate(ids)}
        labels = np.array([remap.get(c, -1) for c in labels])
        centers = np.array([X[labels == i].mean(axis=0) for i in range(len(ids))])
        # A later row joins its nearest cluster when it is no farther than 95% of members are.
        radius = np.array(
            [
                float(np.quantile(np.linalg.norm(X[labels == i] - centers[i], axis=1), 0.95))
                for i in range(len(ids))
            ]
        )
        return {"labels": labels, "centers": centers, "radius": radius}
    raise ValueError(f"unknown method {method!r}")


def _assign(method: str, p: dict[str, Any], X: np.ndarray, C: np.ndarray | None) -> np.ndarray:
    """The cluster of each row, as the SQL of the segmentation stage computes it."""
    centers = p["centers"]
    d = ((X[:, None, :] - centers[None]) ** 2).sum(-1)
    if method == "gmm":
        var = p["variances"]
        d = (
            ((X[:, None, :] - centers[None]) ** 2 / var[None]).sum(-1)
            + np.log(var).sum(-1)[None]
            - 2 * np.log(p["weights"])[None]
        )
    elif method == "kprototypes":
        assert C is not None
        d = d + p["gamma"] * (C[:, None, :] != p["modes"][None]).sum(-1)
    labels = d.argmin(axis=1)
    if method == "hdbscan":
        dist = np.sqrt(d[np.arange(len(X)), labels])
        labels = np.where(dist <= p["radius"][labels], labels, -1)
    return labels


class SegmentModel:
    """Segments by one of ``METHODS``; with ``k='auto'`` the number of segments is chosen.

    For each k in ``k_range``: an internal criterion (silhouette on a subsample; BIC
    for the Gaussian mixture) and the stability, the mean adjusted Rand index between
    the reference fit's labels and those of fits on ``bootstrap`` resamples (each
    with another seed), both on the same rows. The chosen k is the best by the
    criterion among the k whose stability reaches ``min_stability`` (when none does:
    among those within 0.05 of the most stable). ``selection_`` keeps the evidence.

    ``fit(X, C)``: X the scaled numeric inputs; C (k-prototypes only) the categorical
    codes. HDBSCAN finds its own number of clusters and labels outliers ``-1``.
    """

    def __init__(
        self,
        *,
        method: str = "kmeans",
        k: int | str = "auto",
        k_range: tuple[int, int] = (3, 8),
        random_state: int = 42,
        bootstrap: int = 6,
        min_stability: float = 0.85,
        silhouette_sample: int = 3000,
        stability_sample: int = 6000,
    ) -> None:
        self.method = method
        self.k = k
        self.k_range = k_range
        self.random_state = random_state
        self.bootstrap = bootstrap
        self.min_stability = min_stability
        self.silhouette_sample = silhouette_sample
        self.stability_sample = stability_sample

    def fit(self, X: np.ndarray, C: np.ndarray | None = None) -> SegmentModel:
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or not np.isfinite(X).all():
            raise ValueError("SegmentModel expects a finite 2-D array of scaled features.")
        if self.method not in METHODS:
            raise ValueError(
                f"The 'method' parameter of SegmentModel must be one of {METHODS}. "
                f"Got {self.method!r} instead."
            )
        if self.method == "kprototypes" and (C is None or C.shape[1] == 0):
            raise ValueError("k-prototypes needs at least one categorical input")
        rng = np.random.default_rng(self.random_state)
        # k-prototypes (pure Python loops) and HDBSCAN (quadratic) fit on at most
        # MAX_FIT_ROWS of the sample; the rest are assigned like every other person.
        cap = MAX_FIT_ROWS.get(self.method)
        if cap is not None and len(X) > cap:
            keep = np.sort(rng.choice(len(X), size=cap, replace=False))
            X = X[keep]
            C = None if C is None else C[keep]
        n = len(X)
        mcs = max(15, n // 40)
        if self.method == "hdbscan":
            candidates = [0]
        else:
            candidates = KSelectingKMeans(k=self.k, k_range=self.k_range)._check_params(n)
        # Stability and silhouette are measured on one fixed subsample of rows.
        sub = rng.choice(n, size=min(n, self.stability_sample), replace=False)
        sil_rows = sub[: min(len(sub), self.silhouette_sample)]
        self.selection_: list[dict[str, Any]] = []
        fits: dict[int, dict[str, Any]] = {}
        for k in candidates:
            p = _fit_one(self.method, X, C, k, self.random_state, mcs)
            fits[k] = p
            labels = p["labels"]
            row: dict[str, Any] = {"k": int(k) if k else len(p["centers"])}
            ok = labels[sil_rows] >= 0
            if len(set(labels[sil_rows][ok])) > 1:
                row["silhouette"] = round(
                    float(silhouette_score(X[sil_rows][ok], labels[sil_rows][ok])), 4
                )
            else:
                row["silhouette"] = None
            if "bic" in p:
                row["bic"] = round(p["bic"], 1)
            ref = _assign(self.method, p, X[sub], None if C is None else C[sub])
            scores = []
            for b in range(self.bootstrap):
                rows = rng.choice(len(sub), size=len(sub), replace=True)
                Xb = X[sub][rows]
                Cb = None if C is None else C[sub][rows]
                pb = _fit_one(self.method, Xb, Cb, k, self.random_state + 1 + b, mcs)
                other = _assign(self.method, pb, X[sub], None if C is None else C[sub])
                both = (ref >= 0) & (other >= 0)
                scores.append(
                    float(adjusted_rand_score(ref[both], other[both])) if both.any() else 0.0
                )
            row["stability"] = round(float(np.mean(scores)), 4) if scores else None
            row["stability_sd"] = round(float(np.std(scores)), 4) if scores else None
            if self.method == "hdbscan":
                row["unassigned"] = round(float((labels < 0).mean()), 4)
            self.selection_.append(row)
        chosen, self.reason_ = self._choose()
        p = fits[chosen if self.method != "hdbscan" else 0]
        for row in self.selection_:
            row["chosen"] = row["k"] == (chosen if self.method != "hdbscan" else row["k"])
        self.params_ = p
        self.labels_ = p["labels"]
        self.cluster_centers_ = p["centers"]
        self.n_clusters_ = len(p["centers"])
        best = next(r for r in self.selection_ if r["chosen"])
        self.silhouette_ = best["silhouette"] if best["silhouette"] is not None else float("nan")
        self.stability_ = best["stability"]
        return self

    def _choose(self) -> tuple[int, str]:
        rows = self.selection_
        if self.method == "hdbscan":
            return rows[0]["k"], "HDBSCAN finds its own number of clusters"
        if len(rows) == 1:
            return rows[0]["k"], "k set in the config"
        stab = [r["stability"] for r in rows if r["stability"] is not None]
        if stab:
            floor = self.min_stability if max(stab) >= self.min_stability else max(stab) - 0.05
            eligible = [r for r in rows if r["stability"] is not None and r["stability"] >= floor]
        else:
            floor, eligible = None, rows
        if self.method == "gmm":
            best = min(eligible, key=lambda r: r["bic"])
            crit = f"lowest BIC ({best['bic']:,.0f})"
        else:
            best = max(eligible, key=lambda r: -1.0 if r["silhouette"] is None else r["silhouette"])
            crit = f"highest silhouette ({best['silhouette']:.3f})"
        if floor is None:
            return best["k"], f"{crit}; no bootstrap"
        kept = ", ".join(str(r["k"]) for r in eligible)
        return best["k"], (
            f"{crit} among the k whose bootstrap stability ARI is at least {floor:.2f} ({kept}); "
            f"its stability {best['stability']:.3f}"
        )

    def predict(self, X: np.ndarray, C: np.ndarray | None = None) -> np.ndarray:
        return _assign(self.method, self.params_, np.asarray(X, dtype=float), C)
