"""CLV models against the published CDNOW parameters (Fader, Hardie and Lee 2005) and
against lifetimes (the dev extra's oracle) on the same inputs."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from personify.profiles.value import (
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    discounted_purchases,
)


def _datasets() -> Path:
    spec = importlib.util.find_spec("lifetimes")
    assert spec is not None and spec.submodule_search_locations, "needs the dev extra"
    return Path(next(iter(spec.submodule_search_locations))) / "datasets"


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    return pd.read_csv(_datasets() / "cdnow_customers_summary.csv")


@pytest.fixture(scope="module")
def spend() -> pd.DataFrame:
    g = pd.read_csv(_datasets() / "cdnow_customers_summary_with_transactions.csv")
    return g[g["x"] > 0]


def _within(fitted: dict[str, float], published: dict[str, float], rel: float) -> None:
    for name, value in published.items():
        assert fitted[name] == pytest.approx(value, rel=rel), name


def test_bgnbd_reproduces_the_published_cdnow_parameters(summary: pd.DataFrame) -> None:
    assert len(summary) == 2357
    m = BetaGeoModel().fit(summary["frequency"], summary["recency"], summary["T"])
    _within(m.params_, {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, 0.01)


def test_pareto_nbd_reproduces_the_published_cdnow_parameters(summary: pd.DataFrame) -> None:
    m = ParetoNBDModel().fit(summary["frequency"], summary["recency"], summary["T"])
    _within(m.params_, {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}, 0.01)


def test_gamma_gamma_reproduces_the_published_cdnow_parameters(spend: pd.DataFrame) -> None:
    assert len(spend) == 946
    m = GammaGammaModel().fit(spend["x"], spend["zbar"])
    _within(m.params_, {"p": 6.249, "q": 3.745, "v": 15.448}, 0.01)


def test_models_agree_with_lifetimes_on_the_same_inputs(
    summary: pd.DataFrame, spend: pd.DataFrame
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter

        x, t_x, T = summary["frequency"], summary["recency"], summary["T"]
        pairs = [
            (BetaGeoModel().fit(x, t_x, T), BetaGeoFitter().fit(x, t_x, T)),
            (ParetoNBDModel().fit(x, t_x, T), ParetoNBDFitter().fit(x, t_x, T)),
        ]
        for ours, theirs in pairs:
            _within(ours.params_, theirs.params_.to_dict(), 1e-3)
            np.testing.assert_allclose(
                ours.p_alive(x, t_x, T), theirs.conditional_probability_alive(x, t_x, T), atol=1e-4
            )
            np.testing.assert_allclose(
                ours.expected_purchases(39, x, t_x, T),
                theirs.conditional_expected_number_of_purchases_up_to_time(39, x, t_x, T),
                rtol=1e-3,
                atol=1e-4,
            )
        gg = GammaGammaModel().fit(spend["x"], spend["zbar"])
        oracle = GammaGammaFitter().fit(spend["x"], spend["zbar"])
        _within(gg.params_, oracle.params_.to_dict(), 1e-3)
        np.testing.assert_allclose(
            gg.expected_spend(spend["x"], spend["zbar"]),
            oracle.conditional_expected_average_profit(spend["x"], spend["zbar"]),
            rtol=1e-3,
        )


def test_weights_fit_the_same_as_repeated_rows(summary: pd.DataFrame) -> None:
    once = summary.iloc[:600]
    doubled = pd.concat([once, once])
    a = BetaGeoModel().fit(doubled["frequency"], doubled["recency"], doubled["T"])
    b = BetaGeoModel().fit(once["frequency"], once["recency"], once["T"], weights=np.full(600, 2))
    _within(a.params_, b.params_, 1e-4)
    assert a.n_ == b.n_ == 1200


def test_p_alive_falls_with_time_since_last_purchase() -> None:
    m = BetaGeoModel()
    m.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    alive = m.p_alive([3, 3, 3, 0], [30, 20, 5, 0], [35, 35, 35, 35])
    assert alive[0] > alive[1] > alive[2]
    assert alive[3] == 1.0  # BG/NBD: no repeat purchase, no chance to have dropped out


def test_discounting_lowers_value_and_a_zero_rate_sums_the_expectation() -> None:
    m = BetaGeoModel()
    m.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    x, t_x, T = np.array([2.0, 5.0]), np.array([20.0, 30.0]), np.array([35.0, 35.0])
    plain = discounted_purchases(m, x, t_x, T, horizon=52, step=4, rate_per_step=0.0)
    np.testing.assert_allclose(plain, m.expected_purchases(52, x, t_x, T), rtol=1e-12)
    discounted = discounted_purchases(m, x, t_x, T, horizon=52, step=4, rate_per_step=0.01)
    assert (discounted < plain).all() and (discounted > 0.8 * plain).all()


def test_an_unfitted_model_says_so() -> None:
    with pytest.raises(ValueError, match="not fitted"):
        BetaGeoModel().p_alive([1], [1], [2])


def test_bgnbd_chance_of_no_purchase_matches_integrating_the_posterior(
    summary: pd.DataFrame,
) -> None:
    """P(no purchase in t | x, t_x, T) by brute force: the BG/NBD likelihood of the history
    over (lambda, p), alive (then no purchase with exp(-lambda t)) or dropped out after the
    last purchase, integrated against the Gamma and Beta priors by 2-D quadrature."""
    from math import exp, lgamma, log

    from scipy import integrate

    m = BetaGeoModel().fit(summary["frequency"], summary["recency"], summary["T"])
    r, alpha, a, b = (m.params_[k] for k in ("r", "alpha", "a", "b"))
    t = 26.0
    for x, t_x, T in ((0, 0.0, 38.0), (0, 0.0, 5.0), (2, 30.0, 38.0), (5, 10.0, 38.0)):

        def alive(lam: float, p: float, x=x, T=T) -> float:
            return (1 - p) ** x * lam**x * exp(-lam * T)

        def dead(lam: float, p: float, x=x, t_x=t_x) -> float:
            return p * (1 - p) ** (x - 1) * lam**x * exp(-lam * t_x) if x > 0 else 0.0

        def prior(lam: float, p: float) -> float:  # Gamma(r, rate alpha) x Beta(a, b)
            if lam <= 0 or not 0 < p < 1:
                return 0.0
            log_gamma = r * log(alpha) + (r - 1) * log(lam) - alpha * lam - lgamma(r)
            log_beta = (
                (a - 1) * log(p) + (b - 1) * log(1 - p) + lgamma(a + b) - lgamma(a) - lgamma(b)
            )
            return exp(log_gamma + log_beta)

        def quiet(p: float, lam: float) -> float:
            return (alive(lam, p) * exp(-lam * t) + dead(lam, p)) * prior(lam, p)

        def total(p: float, lam: float) -> float:
            return (alive(lam, p) + dead(lam, p)) * prior(lam, p)

        num = integrate.dblquad(quiet, 0, 10, 0, 1, epsabs=1e-9)[0]
        den = integrate.dblquad(total, 0, 10, 0, 1, epsabs=1e-9)[0]
        assert m.p_no_purchase(t, [x], [t_x], [T])[0] == pytest.approx(num / den, abs=2e-3)


def test_pareto_nbd_chance_of_no_purchase_agrees_with_lifetimes(summary: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import ParetoNBDFitter

        x, t_x, T = summary["frequency"], summary["recency"], summary["T"]
        ours = ParetoNBDModel().fit(x, t_x, T)
        theirs = ParetoNBDFitter().fit(x, t_x, T)
        sample = summary.sample(12, random_state=1)
        expected = [
            theirs.conditional_probability_of_n_purchases_up_to_time(0, 26, *row)
            for row in sample[["frequency", "recency", "T"]].itertuples(index=False)
        ]
        got = ours.p_no_purchase(26, sample["frequency"], sample["recency"], sample["T"])
        np.testing.assert_allclose(got, np.asarray(expected, dtype=float), atol=2e-3)
