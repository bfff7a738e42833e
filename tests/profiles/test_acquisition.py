"""Acquisition-cost attribution rules on hand-made spend and acquisition counts."""

import pandas as pd
import pytest

from personify.profiles.acquisition import _cost_per_customer, choose_rule, month_index


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03", 2025 * 12 + 3),
        ("2025-03-01", 2025 * 12 + 3),
        ("2025/3", 2025 * 12 + 3),
        ("03/2025", 2025 * 12 + 3),
        (" 2024-12 ", 2024 * 12 + 12),
        ("2025-13", None),
        ("Q1 2025", None),
        ("March", None),
        (None, None),
    ],
)
def test_month_text_is_read_as_year_and_month(text, expected) -> None:
    assert month_index(text) == expected


def _spend(rows):
    frame = pd.DataFrame(rows, columns=["month", "channel", "campaign_id", "spend"])
    frame["month_index"] = pd.array([month_index(m) for m in frame["month"]], dtype="Int64")
    return frame


def test_months_outside_the_spend_table_are_unknown_and_inside_without_spend_free() -> None:
    spend = _spend([("2025-01", "tv", None, 100.0), ("2025-03", "tv", None, 30.0)])
    jan, feb, mar, may = (2025 * 12 + m for m in (1, 2, 3, 5))
    acquired = pd.DataFrame({"month_index": [jan, feb, mar, may], "customers": [4, 2, 3, 1]})
    cells, unattributed = _cost_per_customer(spend, acquired, ["month_index"])
    cost = dict(zip(cells["month_index"], cells["cost"], strict=True))
    assert cost[jan] == pytest.approx(25)
    assert cost[feb] == 0  # covered by the table, no spend that month
    assert cost[mar] == pytest.approx(10)
    assert pd.isna(cost[may])  # after the last month the table knows
    assert unattributed == 0


def test_unreadable_months_and_campaigns_that_won_nobody_are_unattributed() -> None:
    spend = _spend(
        [("2025-01", "tv", "A", 100.0), ("Q1 2025", "tv", "A", 40.0), ("2025-01", "tv", "B", 7)]
    )
    acquired = pd.DataFrame(
        {"campaign_id": ["A"], "month_index": [2025 * 12 + 1], "customers": [5]}
    )
    cells, unattributed = _cost_per_customer(spend, acquired, ["campaign_id", "month_index"])
    assert cells["cost"].tolist() == [pytest.approx(20)]
    assert unattributed == pytest.approx(47)


def test_auto_prefers_the_rule_every_spend_row_supports() -> None:
    full = _spend([("2025-01", "tv", "A", 1.0), ("2025-02", "radio", "B", 1.0)])
    assert choose_rule("auto", full, touches=True, purchases=True) == "campaign_month"
    assert choose_rule("auto", full, touches=False, purchases=True) == "month"
    no_campaign = _spend([("2025-01", "tv", "A", 1.0), ("2025-02", "radio", None, 1.0)])
    assert choose_rule("auto", no_campaign, touches=True, purchases=True) == "channel_month"
    bare = _spend([("2025-01", None, None, 1.0)])
    assert choose_rule("campaign", bare, touches=True, purchases=True) == ""
    assert choose_rule("auto", bare, touches=False, purchases=False) == ""
