"""Behavioral attributes on a tiny company whose numbers were worked out by hand.

The reference date is Thursday 2026-01-01; the lifecycle thresholds are the defaults
(new 90 days, at risk 180, lapsed 365) and the engagement window is 90 days (from
2025-10-03), medium from 2 touches, high from 5. Weekdays were counted from
2025-01-01 (a Wednesday) and 2024-01-01 (a Monday).
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pandas as pd
import pytest

AS_OF = dt.date(2026, 1, 1)

CRM = (
    "customers",
    "crm.csv",
    "customer_id,email\n"
    "C1,ann@x.com\nC2,bob@x.com\nC3,cat@x.com\nC4,dan@x.com\nC5,eve@x.com\nC6,fay@x.com\n",
)
ORDERS = (
    "orders",
    "orders.csv",
    "order_id,account_id,email,order_ts,total\n"
    # Ann: Monday morning, then Saturday evenings; two orders on 12-06 are one purchase day
    "O1,A1,ann@x.com,2025-09-01T08:30:00,40\n"
    "O2,A1,ann@x.com,2025-10-04T19:00:00,25\n"
    "O3,A1,ann@x.com,2025-12-06T20:15:00,30\n"
    "O4,A1,ann@x.com,2025-12-06T21:00:00,10\n"
    # Bob: a Sunday in 2024, then a Thursday 620 days later: reactivated
    "O5,A2,bob@x.com,2024-03-10T12:00:00,20\n"
    "O6,A2,bob@x.com,2025-11-20T14:00:00,20\n"
    # Dan: one purchase 214 days ago: at risk
    "O7,A4,dan@x.com,2025-06-01T10:00:00,15\n"
    # Eve: one purchase 565 days ago, a Saturday night: lapsed
    "O8,A5,eve@x.com,2024-06-15T23:30:00,15\n"
    # Fay: first bought 12 days ago: new
    "O9,A6,fay@x.com,2025-12-20T09:00:00,15\n"
    "O10,A6,fay@x.com,2025-12-28T11:00:00,15\n",
)


def _event(mid: str, kind: str, ts: str, event: str | None = None, device: str | None = None):
    msg = {"type": kind, "messageId": mid, "userId": "A1", "timestamp": ts}
    if event:
        msg["event"] = event
    if device:
        msg["context"] = {"device": {"type": device}}
    return json.dumps(msg)


EVENTS = (
    "events",
    "events.jsonl",
    "\n".join(
        [
            _event("m5", "page", "2025-08-01T09:00:00Z"),  # a session before the window
            _event("m1", "page", "2025-12-10T10:00:00Z", device="desktop"),
            _event("m2", "track", "2025-12-10T10:20:00Z", "Product Viewed", "iOS"),
            # 35 minutes after the last event: a new session
            _event("m3", "track", "2025-12-10T10:55:00Z", "Product Viewed", "ios"),
            _event("m4", "track", "2025-12-11T09:00:00Z", "Product Added", "desktop"),
        ]
    )
    + "\n",
)
MAIL = (
    "email_events",
    "mail.csv",
    "event_id,campaign_id,email,event_type,event_ts\n"
    "E1,K0,ann@x.com,sent,2025-08-01T08:00:00\n"
    "E2,K0,ann@x.com,clicked,2025-08-02T08:00:00\n"  # before the window
    "E3,K1,ann@x.com,sent,2025-11-01T08:00:00\n"
    "E4,K1,ann@x.com,clicked,2025-11-02T08:00:00\n"
    "E5,K2,ann@x.com,sent,2025-12-01T08:00:00\n"
    "E6,K2,ann@x.com,clicked,2025-12-02T08:00:00\n"
    "E7,K2,ann@x.com,clicked,2025-12-03T08:00:00\n"  # the same campaign again
    "E8,K1,bob@x.com,sent,2025-11-01T08:00:00\n"
    "E9,K1,bob@x.com,unsubscribed,2025-11-05T08:00:00\n",
)
TICKETS = (
    "support_tickets",
    "tickets.csv",
    "ticket_id,email,created_ts,subject\n"
    "T1,ann@x.com,2025-03-01T10:00:00,Where is my parcel\n"
    "T2,ann@x.com,2024-11-01T10:00:00,Wrong size\n",
)


def _profiles(make_workspace, files) -> pd.DataFrame:
    ws = make_workspace(files)
    ws.config = ws.config.model_copy(update={"as_of": AS_OF})
    ws.ingest.run()
    ws.identity.run()
    ws.profiles.run()
    rows = ws.engine.fetch_df(
        "SELECT p.*, g.customer_id FROM profiles p JOIN golden_record g USING (person_id) "
        "WHERE g.customer_id IS NOT NULL"
    )
    return rows.set_index("customer_id")


@pytest.fixture
def rows(make_workspace) -> pd.DataFrame:
    return _profiles(
        make_workspace,
        {"crm": CRM, "orders": ORDERS, "events": EVENTS, "mail": MAIL, "tickets": TICKETS},
    )


def test_interpurchase_time_counts_days_between_purchase_days(rows) -> None:
    # Ann: 09-01 -> 10-04 is 33 days, 10-04 -> 12-06 is 63 (the second 12-06 order adds no day)
    assert rows.loc["C1", "interpurchase_days_mean"] == pytest.approx(48)
    assert rows.loc["C1", "interpurchase_days_median"] == pytest.approx(48)
    assert rows.loc["C1", "tenure_days"] == 122
    assert rows.loc["C2", "interpurchase_days_mean"] == pytest.approx(620)
    assert pd.isna(rows.loc["C5", "interpurchase_days_mean"])  # one purchase: no gap


def test_weekday_and_time_of_day_habits(rows) -> None:
    ann, bob, eve = rows.loc["C1"], rows.loc["C2"], rows.loc["C5"]
    assert ann["weekday_favourite"] == "Saturday"
    assert ann["weekend_share"] == pytest.approx(0.75)
    assert ann["daypart_favourite"] == "evening"  # 08:30 morning, 19:00, 20:15, 21:00
    # Bob: a Sunday and a Thursday, one each: the later one wins the tie
    assert bob["weekday_favourite"] == "Thursday"
    assert bob["weekend_share"] == pytest.approx(0.5)
    assert bob["daypart_favourite"] == "afternoon"
    assert (eve["weekday_favourite"], eve["daypart_favourite"]) == ("Saturday", "night")
    assert pd.isna(rows.loc["C3", "weekday_favourite"])  # never bought


def test_sessions_product_views_and_device(rows) -> None:
    ann = rows.loc["C1"]
    assert ann["web_events"] == 5
    assert ann["web_sessions"] == 4  # 08-01; 12-10 10:00 and 10:20; 12-10 10:55; 12-11
    assert ann["product_views"] == 2
    # desktop twice, ios twice ('iOS' is ios): the device seen last (12-11) wins
    assert ann["main_device"] == "desktop"
    assert rows.loc["C2", "web_sessions"] == 0


def test_unsubscribes_and_recent_support_contacts(rows) -> None:
    assert not rows.loc["C1", "email_unsubscribed"]
    assert rows.loc["C2", "email_unsubscribed"]
    assert pd.isna(rows.loc["C3", "email_unsubscribed"])  # never e-mailed
    assert rows.loc["C1", "tickets"] == 2
    assert rows.loc["C1", "tickets_12m"] == 1  # 2025-03-01 is within, 2024-11-01 is not


def test_engagement_counts_purchases_sessions_and_clicks_in_the_window(rows) -> None:
    # Ann: 3 orders (10-04, 12-06 twice) + 3 sessions + 2 campaigns clicked (K1, K2)
    assert rows.loc["C1", "engagement_touches"] == 8
    assert rows.loc["C1", "engagement_level"] == "high"
    assert (rows.loc["C2", "engagement_touches"], rows.loc["C2", "engagement_level"]) == (1, "low")
    assert rows.loc["C6", "engagement_level"] == "medium"  # two orders in December
    assert rows.loc["C4", "engagement_level"] == "none"
    assert rows.loc["C3", "engagement_level"] == "none"


def test_lifecycle_stages_follow_the_documented_rules(rows) -> None:
    stages = rows["lifecycle_stage"].to_dict()
    assert stages["C1"] == "active"  # last bought 26 days ago, customer for 122 days
    assert stages["C2"] == "reactivated"  # 620 days between the last two purchase days
    assert stages["C4"] == "at risk"  # 214 days since the only purchase
    assert stages["C5"] == "lapsed"  # 565 days
    assert stages["C6"] == "new"  # first purchase 12 days ago
    assert pd.isna(stages["C3"])


def test_missing_sources_leave_their_attributes_empty(make_workspace) -> None:
    # Orders with dates only: no time of day; no events, e-mail or ticket source.
    only_dates = re.sub(r"T\d\d:\d\d:\d\d", "", ORDERS[2])
    rows = _profiles(make_workspace, {"crm": CRM, "orders": ("orders", "o.csv", only_dates)})
    ann = rows.loc["C1"]
    for column in ("web_sessions", "product_views", "main_device", "email_unsubscribed"):
        assert pd.isna(ann[column]), column
    assert pd.isna(ann["tickets_12m"])
    assert pd.isna(ann["daypart_favourite"])  # midnight on every order: time unknown
    assert ann["weekday_favourite"] == "Saturday"
    assert ann["engagement_touches"] == 3  # purchases alone
    assert ann["lifecycle_stage"] == "active"


def test_every_new_column_is_explained_in_the_catalogue(rows) -> None:
    from personify.profiles.behavior import COLUMNS
    from personify.profiles.features import FEATURE_BY_NAME
    from personify.profiles.value import VALUE_COLUMNS

    for column in [*COLUMNS, *VALUE_COLUMNS, "tenure_days"]:
        feature = FEATURE_BY_NAME[column]
        assert feature.meaning and feature.unit and feature.computed, column
    for column in COLUMNS:
        assert column in rows.columns, column  # and says when it stays empty
        assert "empty" in FEATURE_BY_NAME[column].computed or column == "engagement_level"
