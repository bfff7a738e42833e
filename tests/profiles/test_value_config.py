"""The ``profiles:`` settings reach the value columns: a workspace's p_alive, expected
purchases and CLV under Pareto/NBD, a 180-day horizon and no discounting agree with
lifetimes (the oracle) fitted on the histories computed here with pandas."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest

from personify.config import parse_config
from personify.errors import ConfigError

AS_OF = dt.date(2026, 1, 1)


def _orders(seed: int = 3, customers: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(customers):
        first = rng.integers(0, 300)
        n = 1 + rng.poisson(2.0) if rng.random() < 0.7 else 1
        days = np.sort(first + rng.integers(0, 365 - first, n))
        days[0] = first
        for k, d in enumerate(days):
            ts = dt.datetime(2025, 1, 1) + dt.timedelta(days=int(d), hours=int(rng.integers(8, 20)))
            rows.append((f"O{c}_{k}", f"A{c}", ts.isoformat(), round(float(rng.gamma(4, 10)), 2)))
    return pd.DataFrame(rows, columns=["order_id", "account_id", "order_ts", "total"])


def _summary(orders: pd.DataFrame) -> pd.DataFrame:
    """x, t_x, T in weeks and the mean repeat spend, per customer, from purchase days."""
    o = orders.assign(day=pd.to_datetime(orders["order_ts"]).dt.normalize())
    days = o.groupby(["account_id", "day"], as_index=False)["total"].sum()
    days = days.sort_values(["account_id", "day"])
    end = pd.Timestamp(AS_OF)
    g = days.groupby("account_id")
    out = pd.DataFrame(
        {
            "x": g.size() - 1,
            "t_x": (g["day"].max() - g["day"].min()).dt.days / 7,
            "T": (end - g["day"].min()).dt.days / 7,
            "first": g["total"].first(),
            "total": g["total"].sum(),
        }
    )
    out["m"] = np.where(out["x"] > 0, (out["total"] - out["first"]) / out["x"].clip(lower=1), 0)
    return out


def test_pareto_nbd_horizon_and_discount_come_from_the_config(make_workspace) -> None:
    orders = _orders()
    ws = make_workspace({"orders": ("orders", "orders.csv", orders.to_csv(index=False))})
    profiles = {"purchase_model": "pareto_nbd", "clv_horizon_days": 180, "discount_rate": 0.0}
    ws.config = ws.config.model_copy(
        update={"as_of": AS_OF, "profiles": parse_config({"profiles": profiles}).profiles}
    )
    ws.ingest.run()
    ws.identity.run()
    ws.profiles.run()
    got = ws.engine.fetch_df(
        "SELECT DISTINCT o.account_id, p.p_alive, p.expected_purchases, p.clv FROM profiles p "
        "JOIN identity_links l USING (person_id) "
        "JOIN raw_orders o ON l.source = 'orders' AND l.record_id = o.order_id"
    )
    got = got.set_index("account_id").sort_index()
    s = _summary(orders).loc[got.index]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import GammaGammaFitter, ParetoNBDFitter

        counts = ParetoNBDFitter().fit(s["x"], s["t_x"], s["T"])
        repeat = s[s["x"] > 0]
        spend = GammaGammaFitter().fit(repeat["x"], repeat["m"])
    p_alive = counts.conditional_probability_alive(s["x"], s["t_x"], s["T"])
    expected = counts.conditional_expected_number_of_purchases_up_to_time(
        180 / 7, s["x"], s["t_x"], s["T"]
    )
    # Gamma-Gamma's expected spend: population mean for one-time buyers, else shrunk.
    p, q, v = (spend.params_[k] for k in ("p", "q", "v"))
    mean_spend = np.where(
        s["x"] > 0,
        spend.conditional_expected_average_profit(s["x"], s["m"].where(s["x"] > 0, 1.0)),
        p * v / (q - 1),
    )
    np.testing.assert_allclose(got["p_alive"], p_alive, atol=2e-3)
    np.testing.assert_allclose(got["expected_purchases"], expected, rtol=5e-3, atol=2e-3)
    # With no discounting the monthly increments add up to the horizon's expectation.
    np.testing.assert_allclose(got["clv"], expected * mean_spend, rtol=1e-2, atol=0.05)


def test_lifecycle_thresholds_must_be_ordered() -> None:
    with pytest.raises(ConfigError, match="new_days <= at_risk_days < lapsed_days"):
        parse_config({"profiles": {"lifecycle": {"at_risk_days": 400, "lapsed_days": 365}}})


def test_the_purchase_model_is_one_of_the_two() -> None:
    with pytest.raises(ConfigError, match=r"profiles\.purchase_model"):
        parse_config({"profiles": {"purchase_model": "bgnbd"}})


def test_a_churn_label_must_be_a_declared_boolean_attribute() -> None:
    sources = {
        "crm": {
            "kind": "customers",
            "path": "c.csv",
            "attributes": {"plan": {"role": "categorical"}, "churned": {"role": "boolean"}},
        }
    }
    ok = parse_config({"sources": sources, "profiles": {"churn": {"label": "attr_churned"}}})
    assert ok.profiles.churn is not None and ok.profiles.churn.attribute == "churned"
    with pytest.raises(ConfigError, match="role 'categorical'"):
        parse_config({"sources": sources, "profiles": {"churn": {"label": "plan"}}})
    with pytest.raises(ConfigError, match="no source declares the attribute 'left'"):
        parse_config({"sources": sources, "profiles": {"churn": {"label": "left"}}})


def test_an_unknown_time_zone_is_named() -> None:
    with pytest.raises(ConfigError, match="unknown time zone 'Europe/Berlni'"):
        parse_config({"locale": {"timezone": "Europe/Berlni"}})
    assert parse_config({"locale": {"timezone": "Europe/Berlin"}}).locale.timezone
