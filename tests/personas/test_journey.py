"""The journey map: the issue's five stages from a segment's own counts, by hand.

A segment of 200 members: 150 looked (visits, views or a purchase), 120 bought, 60 bought
again, 30 rated 4+ on average; 90 with a first touch, 80 visited online, 8 viewed products
(fewer than k = 10: withheld), 40 lapsed or at risk, 25 with tickets, 45 reviewers."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from tests.profiles.test_build import FILES

from personify.formatting import number_format
from personify.personas.build import PersonaBuilder
from personify.personas.card import journey_stages

ROW = pd.Series(
    {
        "members": 200, "acquired": 90, "considered": 150, "visited": 80, "viewed": 8,
        "emailed": None, "buyers": 120, "repeaters": 60, "supported": 25, "lapsed": 40,
        "reviewers": 45, "advocates": 30, "median_sessions": 3.0,
        "median_days_to_purchase": 12.5, "median_gap_days": 41.0, "median_tickets": 2.0,
        "median_recency_days": 300.0, "median_reviews": 1.0,
    }
)  # fmt: skip


def _journey() -> dict:
    return journey_stages(
        ROW,
        k=10,
        fmt=number_format("GBP", "en"),
        acquisition=[{"channel": "referral", "share": 0.5}],
        channels=[{"channel": "web", "share": 0.7}],
        pains={"advocacy": ["Complains about 'delivery'"]},
    )


def test_the_five_stages_with_conversion_and_drop_off() -> None:
    stages = {s["stage"]: s for s in _journey()["stages"]}
    assert list(stages) == ["awareness", "consideration", "purchase", "retention", "advocacy"]
    assert [stages[s]["persons"] for s in stages] == [200, 150, 120, 60, 30]
    assert [stages[s]["share"] for s in stages] == [1.0, 0.75, 0.6, 0.3, 0.15]
    # Each stage converts from the one before it; advocacy from the buyers.
    assert stages["consideration"]["conversion"] == 0.75  # 150 / 200
    assert stages["purchase"]["conversion"] == 0.8  # 120 / 150
    assert stages["purchase"]["drop_off"] == 0.2
    assert stages["retention"]["conversion"] == 0.5  # 60 / 120
    assert stages["advocacy"]["conversion"] == 0.25  # 30 / 120
    assert stages["awareness"]["conversion"] is None


def test_median_times_touchpoints_lost_and_pains() -> None:
    stages = {s["stage"]: s for s in _journey()["stages"]}
    assert stages["purchase"]["median"] == 12.5
    assert stages["purchase"]["median_of"] == "days from the first touch to the first purchase"
    assert stages["retention"]["median"] == 41.0
    assert stages["awareness"]["channels"] == [{"channel": "referral", "share": 0.5}]
    assert stages["retention"]["channels"] == [{"channel": "web", "share": 0.7}]
    considered = {t["touchpoint"]: t for t in stages["consideration"]["touchpoints"]}
    assert considered["web shop or app visits"]["share"] == 0.4  # 80 / 200
    assert considered["web shop or app visits"]["median"] == 3.0
    assert "product views" not in considered  # 8 members < k
    support = {t["touchpoint"]: t for t in stages["retention"]["touchpoints"]}["support tickets"]
    assert (support["persons"], support["median"], support["median_of"]) == (25, 2.0, "tickets")
    lost = stages["retention"]["lost"]
    assert (lost["persons"], lost["share"], lost["median"]) == (40, 0.2, 300.0)
    assert stages["retention"]["pains"] == [
        "20% lapsed or at risk (300 days since the last purchase, median)"
    ]
    assert stages["advocacy"]["pains"] == ["Complains about 'delivery'"]


def test_a_stage_of_fewer_than_k_is_withheld() -> None:
    row = ROW.copy()
    row["advocates"] = 7
    stages = {s["stage"]: s for s in journey_stages(
        row, k=10, fmt=number_format(None, "en"), acquisition=[], channels=[], pains={}
    )["stages"]}  # fmt: skip
    assert stages["advocacy"]["persons"] is None and stages["advocacy"]["share"] is None
    assert stages["advocacy"]["note"] == "Fewer than 10 members"
    assert stages["advocacy"]["conversion"] is None


def test_days_from_first_touch_to_first_purchase(make_workspace) -> None:
    # tests/profiles/test_build.py's company: Ann's first touch 2025-01-01, first order
    # 2025-12-01 (334 days); Bob's touch 2025-02-01, order 2025-06-01 (120 days).
    ws = make_workspace(FILES)
    ws.config = ws.config.model_copy(update={"as_of": dt.date(2026, 1, 1)})
    ws.ingest.run()
    ws.identity.run()
    ws.profiles.run()
    builder = PersonaBuilder(ws)
    builder.k = 2
    days = builder._days_to_first_purchase("(SELECT person_id, 7 AS segment_id FROM profiles)")
    assert days is not None
    assert int(days.loc[7, "n"]) == 2
    assert days.loc[7, "median_days"] == pytest.approx((334 + 120) / 2)
    builder.k = 3  # two members only: withheld
    days = builder._days_to_first_purchase("(SELECT person_id, 7 AS segment_id FROM profiles)")
    assert days is not None and pd.isna(days.loc[7, "median_days"])
