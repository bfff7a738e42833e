"""Profile attributes computed on a tiny company whose numbers can be checked by hand."""

import datetime as dt

import pytest

FILES = {
    "crm": (
        "customers",
        "crm.csv",
        "customer_id,email,birth_date,gender,loyalty_card\n"
        "C1,ann@x.com,1990-06-15,female,LC1\n"
        "C2,bob@x.com,1960-01-01,male,\n",
    ),
    "products": (
        "products",
        "products.csv",
        "product_id,category,price\nP1,garden,10\nP2,kitchen,30\n",
    ),
    "orders": (
        "orders",
        "orders.csv",
        "order_id,account_id,email,order_ts,channel,discount_code,discount,total,status\n"
        "O1,A1,ann@x.com,2025-12-01T10:00:00,web,,0,40,completed\n"
        "O2,A1,,2025-12-20T10:00:00,app,SAVE10,5,25,completed\n"
        "O3,A1,,2025-12-21T10:00:00,app,,0,999,cancelled\n"
        "O4,A2,bob@x.com,2025-06-01T10:00:00,web,,0,30,completed\n",
    ),
    "lines": (
        "order_lines",
        "lines.csv",
        "order_id,line_no,product_id,quantity,unit_price,line_discount,returned\n"
        "O1,1,P1,1,10,0,false\n"
        "O1,2,P2,1,30,0,true\n"
        "O2,1,P2,1,30,5,false\n"
        "O3,1,P2,1,999,0,false\n"
        "O4,1,P2,1,30,0,false\n",
    ),
    "pos": (
        "pos_receipts",
        "pos.csv",
        "receipt_id,line_no,loyalty_card,receipt_ts,product_id,quantity,unit_price,discount\n"
        "R1,1,LC1,2025-12-30T09:00:00,P1,2,10,0\n"
        "R1,2,LC1,2025-12-30T09:00:00,P2,1,30,0\n"
        "R2,1,,2025-12-30T09:00:00,P2,1,30,0\n",  # no card: nobody's
    ),
    "mail": (
        "email_events",
        "mail.csv",
        "event_id,campaign_id,email,event_type,event_ts\n"
        "E1,K1,ann@x.com,sent,2025-11-01T00:00:00\n"
        "E2,K2,ann@x.com,sent,2025-11-02T00:00:00\n"
        "E3,K1,ann@x.com,opened,2025-11-01T01:00:00\n"
        "E4,K1,ann@x.com,clicked,2025-11-01T01:01:00\n"
        "E5,K1,ANN@X.COM,opened,2025-11-01T02:00:00\n",  # second open, same campaign
    ),
    "touch": (
        "first_touch",
        "touch.csv",
        "customer_id,campaign_id,channel,touch_ts\n"
        "C1,M1,paid_search,2025-01-01T00:00:00\n"
        "C2,M1,paid_search,2025-02-01T00:00:00\n",
    ),
    "spend": (
        "marketing_spend",
        "spend.csv",
        "month,channel,campaign_id,spend\n"
        "2025-01,paid_search,M1,50\n"
        "2025-02,paid_search,M1,30\n"
        "2025-01,paid_search,M2,10\n"  # a campaign that won nobody
        "2025-06,email,,60\n"  # spend on no campaign
        "2025-12,email,,90\n",
    ),
}


@pytest.fixture
def profiles(make_workspace):
    ws = make_workspace(FILES)
    ws.config = ws.config.model_copy(update={"as_of": dt.date(2026, 1, 1)})
    ws.ingest.run()
    ws.identity.run()
    result = ws.profiles.run()
    rows = ws.engine.fetch_df(
        "SELECT p.*, g.customer_id FROM profiles p JOIN golden_record g USING (person_id)"
    )
    return result, rows.set_index("customer_id")


def test_purchases_span_web_app_and_store(profiles) -> None:
    result, rows = profiles
    ann = rows.loc["C1"]
    assert result.as_of == dt.date(2026, 1, 1)
    # O1 40 + O2 25 online (O3 cancelled) + R1 2*10+30 = 50 in store
    assert ann["frequency"] == 3
    assert ann["monetary"] == pytest.approx(115)
    assert ann["avg_order_value"] == pytest.approx(115 / 3)
    assert ann["web_share"] == pytest.approx(1 / 3)
    assert ann["app_share"] == pytest.approx(1 / 3)
    assert ann["store_share"] == pytest.approx(1 / 3)
    assert ann["discount_share"] == pytest.approx(1 / 3)
    assert ann["recency_days"] == 2  # 2025-12-30 -> 2026-01-01
    assert ann["tenure_days"] == 31
    assert ann["age"] == 35


def test_items_give_returns_and_category_shares(profiles) -> None:
    _, rows = profiles
    ann = rows.loc["C1"]
    # online lines of completed orders: O1 (2 lines, one returned) and O2 (1 line)
    assert ann["return_rate"] == pytest.approx(1 / 3)
    # garden: O1 10 + R1 20 = 30; kitchen: O1 30 + O2 25 + R1 30 = 85
    assert ann["cat_garden"] == pytest.approx(30 / 115, abs=1e-6)
    assert ann["cat_kitchen"] == pytest.approx(85 / 115, abs=1e-6)


def test_email_engagement_counts_campaigns_not_events(profiles) -> None:
    _, rows = profiles
    ann, bob = rows.loc["C1"], rows.loc["C2"]
    assert ann["email_open_rate"] == pytest.approx(0.5)
    assert ann["email_click_rate"] == pytest.approx(0.5)
    assert bob["email_open_rate"] != bob["email_open_rate"]  # NaN: never emailed


# Worked by hand from the spend rows above. C1 was first touched by M1 (paid search) in
# January and first bought in December; C2 by M1 in February, first bought in June.
ACQUISITION = {
    # M1's 80 over its two customers; M2's 10 and the 150 on no campaign reach nobody
    "campaign": (40, 40, 160),
    # M1 in January (50) and in February (30)
    "campaign_month": (50, 30, 160),
    # paid search in January is M1 and M2 (60); in February 30
    "channel_month": (60, 30, 150),
    # blended: all of December (90) and all of June (60); January and February reach nobody
    "month": (90, 60, 90),
}


@pytest.mark.parametrize("rule", sorted(ACQUISITION))
def test_acquisition_cost_follows_the_configured_rule(make_workspace, rule) -> None:
    ws = make_workspace(FILES)
    profiles = ws.config.profiles.model_copy(
        update={"acquisition": ws.config.profiles.acquisition.model_copy(update={"rule": rule})}
    )
    ws.config = ws.config.model_copy(update={"as_of": dt.date(2026, 1, 1), "profiles": profiles})
    ws.ingest.run()
    ws.identity.run()
    result = ws.profiles.run()
    rows = ws.engine.fetch_df(
        "SELECT p.acquisition_cost, g.customer_id FROM profiles p "
        "JOIN golden_record g USING (person_id)"
    ).set_index("customer_id")
    c1, c2, unattributed = ACQUISITION[rule]
    assert rows.loc["C1", "acquisition_cost"] == pytest.approx(c1)
    assert rows.loc["C2", "acquisition_cost"] == pytest.approx(c2)
    assert result.acquisition is not None
    assert result.acquisition.rule == rule
    assert result.acquisition.spend == pytest.approx(240)
    assert result.acquisition.unattributed == pytest.approx(unattributed)


def test_auto_takes_channel_and_month_when_not_every_spend_row_names_a_campaign(
    profiles,
) -> None:
    result, rows = profiles
    assert result.acquisition.rule == "channel_month"
    assert rows.loc["C1"]["acquisition_cost"] == pytest.approx(60)
    assert rows.loc["C2"]["acquisition_channel"] == "paid_search"
    assert rows.loc["C2"]["age"] == 66  # born on 1 January: a birthday exactly on as_of
