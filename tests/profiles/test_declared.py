"""Attributes, survey scales and dates the config declares, on a tiny company worked by hand.

Ann (C1) is in the CRM, in two attribute tables (by customer id and by email) and answered
the survey twice; Bob (C2) is in the CRM, one attribute table and the survey once; Cy (C3)
only in the CRM and the first attribute table.
"""

import datetime as dt
import logging

import pytest

from personify.config import parse_config
from personify.profiles.features import Catalogue
from personify.segments import Segmentation

CRM = "customer_id,email\nC1,ann@x.com\nC2,bob@x.com\nC3,cy@x.com\n"
PLANS = (
    "customer_id,contract,tenure,monthly,churn,since,note,frequency\n"
    "C1,Month-to-month,10,50.5,false,2020-01-01,likes it,99\n"
    "C2,Two year,30,80,true,2019-05-01,,\n"
    "C3,One year,,20,false,,,\n"
)
# A second table keyed by email: both rows are Ann's.
PLANS_B = (
    "customer_id,email,contract,tenure,churn,since\n"
    "X1,ann@x.com,Two year,20,true,2021-06-01\n"
    "X2,ann@x.com,Two year,30,false,2018-01-01\n"
)
SURVEY = (
    "response_id,email,submitted_ts,nps,ease,why,plan_pref\n"
    "S1,ann@x.com,2025-01-01T00:00:00,9,4,Great service and a fair price,A\n"
    "S2,ann@x.com,2025-03-01T00:00:00,6,5,,B\n"
    "S3,bob@x.com,2025-02-01T00:00:00,3,,Too slow to answer my calls,A\n"
)
ATTRS = {
    "contract": {"role": "categorical", "label": "Contract"},
    "tenure": {"role": "numeric", "label": "Tenure (months)"},
    "monthly": {"role": "numeric", "label": "Monthly charges", "segment": False},
    "churn": {"role": "boolean", "label": "Churned"},
    "since": {"role": "date", "label": "Customer since"},
    "note": {"role": "text"},
    "frequency": {"role": "numeric", "label": "Calls per month"},  # a built-in's name
}
OPTIONS = {
    "plans": {"attributes": ATTRS},
    "plans_b": {
        "attributes": {k: ATTRS[k] for k in ("contract", "tenure", "churn", "since")},
    },
    "survey": {
        "scales": {
            "nps": {"label": "Would recommend us", "range": [0, 10]},
            "ease": {"range": [1, 5]},
        },
        "answers": {"why": {"label": "Why?"}},
        "attributes": {"plan_pref": {"role": "categorical", "label": "Preferred plan"}},
    },
}
FILES = {
    "crm": ("customers", "crm.csv", CRM),
    "plans": ("customer_attributes", "plans.csv", PLANS),
    "plans_b": ("customer_attributes", "plans_b.csv", PLANS_B),
    "survey": ("survey_responses", "survey.csv", SURVEY),
}


@pytest.fixture
def built(make_workspace):
    ws = make_workspace(FILES, **OPTIONS)
    ws.ingest.run()
    ws.identity.run()
    result = ws.profiles.run()
    rows = ws.engine.fetch_df(
        "SELECT p.*, g.customer_id FROM profiles p JOIN golden_record g USING (person_id)"
        " WHERE g.customer_id IS NOT NULL"
    )
    return ws, result, rows.set_index("customer_id")


def test_declared_attributes_become_one_value_per_person(built) -> None:
    _, _, rows = built
    ann, bob, cy = rows.loc["C1"], rows.loc["C2"], rows.loc["C3"]
    # numeric: mean over every row of every source declaring it (10, 20, 30)
    assert ann["attr_tenure"] == pytest.approx(20)
    assert bob["attr_tenure"] == pytest.approx(30)
    assert cy["attr_tenure"] != cy["attr_tenure"]  # NaN: no value anywhere
    assert ann["attr_monthly"] == pytest.approx(50.5)  # only the first table declares it
    # boolean: any true (Ann: false, true, false)
    assert bool(ann["attr_churn"]) is True and bool(cy["attr_churn"]) is False
    # categorical: the most frequent (Two year twice against Month-to-month once)
    assert ann["attr_contract"] == "Two year" and cy["attr_contract"] == "One year"
    # ... and on a tie the latest: Ann said A on 1 January and B on 1 March
    assert ann["attr_plan_pref"] == "B" and bob["attr_plan_pref"] == "A"
    # date: the latest
    assert ann["attr_since"].date() == dt.date(2021, 6, 1)
    assert bob["attr_since"].date() == dt.date(2019, 5, 1)


def test_attribute_columns_cannot_clash_with_built_in_ones(built) -> None:
    _, result, rows = built
    assert rows.loc["C1"]["attr_frequency"] == pytest.approx(99)
    assert rows.loc["C1"]["frequency"] == 0  # no purchases: the built-in is untouched
    assert "attr_note" not in result.columns  # text stays out of profiles
    assert "note" not in result.columns


def test_survey_scales_are_averaged_per_person_whatever_their_name(built) -> None:
    _, result, rows = built
    assert rows.loc["C1"]["scale_nps"] == pytest.approx(7.5)  # (9 + 6) / 2
    assert rows.loc["C1"]["scale_ease"] == pytest.approx(4.5)
    assert rows.loc["C2"]["scale_nps"] == pytest.approx(3)
    assert rows.loc["C2"]["scale_ease"] != rows.loc["C2"]["scale_ease"]  # never answered
    assert not [c for c in result.columns if c.startswith("q_")]


def test_catalogue_describes_declared_columns_from_the_config(built) -> None:
    ws, _, _ = built
    catalogue = Catalogue(ws.config)
    tenure = catalogue.describe("attr_tenure")
    assert (tenure.label, tenure.group, tenure.format, tenure.model) == (
        "Tenure (months)",
        "custom",
        "number",
        True,
    )
    assert catalogue.describe("attr_churn").format == "percent"
    assert catalogue.describe("attr_monthly").model is False  # segment: false
    assert catalogue.describe("attr_contract").format == "category"
    assert catalogue.describe("scale_nps").label == "Survey: Would recommend us (0-10)"
    assert catalogue.describe("scale_ease").label == "Survey: Ease (1-5)"
    assert catalogue.attributes["attr_tenure"].sources == ("plans", "plans_b")
    assert [(a.source, a.name, a.label) for a in catalogue.answers] == [("survey", "why", "Why?")]


def test_money_attributes_are_formatted_as_money() -> None:
    config = parse_config(
        {
            "locale": {"currency": "EUR"},
            "sources": {
                "plans": {
                    "kind": "customer_attributes",
                    "path": "p.csv",
                    "attributes": {"fee": {"role": "numeric", "currency": "EUR"}},
                }
            },
        }
    )
    fee = Catalogue(config).describe("attr_fee")
    assert (fee.label, fee.format) == ("Fee", "currency")


def test_segmentation_inputs_include_declared_attributes(built) -> None:
    from personify.segments.features import candidate_columns

    ws, _, _ = built
    declared = {c: role for c, (_, role) in candidate_columns(ws).items() if c.startswith("attr_")}
    # monthly is segment: false; dates and text never.
    assert declared == {
        "attr_churn": "boolean",
        "attr_contract": "categorical",
        "attr_frequency": "numeric",
        "attr_plan_pref": "categorical",
        "attr_tenure": "numeric",
    }
    inputs = Segmentation(ws).model_features()
    # contract takes two values across the three persons (Two year x2, One year): one
    # 0/1 input for the most frequent; attr_frequency is known for one person only, so it
    # does not vary and is left out.
    assert "attr_contract__two_year" in inputs and "attr_contract__one_year" not in inputs
    assert "attr_frequency" not in inputs
    values = ws.engine.fetch_df(
        f"SELECT g.customer_id, {inputs['attr_contract__two_year']} AS two_year, "
        f"{inputs['attr_churn']} AS churn FROM profiles JOIN golden_record g USING (person_id) "
        "WHERE g.customer_id IS NOT NULL ORDER BY 1"
    )
    assert values["two_year"].tolist() == [1.0, 1.0, 0.0]
    assert values["churn"].tolist() == [1.0, 1.0, 0.0]


ORDERS_2099 = (
    "order_id,account_id,order_ts,total\n"
    "O1,A1,2025-03-01T10:00:00,40\n"
    "O2,A1,2025-06-09T10:00:00,25\n"
    "O3,A2,2025-05-01T10:00:00,30\n"
    "O4,A2,2099-01-01T00:00:00,999\n"  # a typo: not history
)


@pytest.mark.parametrize(
    ("options", "rows"),
    [
        ({"max_bad_fraction": 0.5}, 3),  # the loader quarantines dates after today
        # a source that allows such dates: profiles leave them out themselves
        ({"columns": {"order_ts": {"max": "2100-12-31"}}}, 4),
    ],
    ids=["quarantined", "loaded"],
)
def test_a_purchase_dated_in_the_future_does_not_move_the_reference_date(
    make_workspace, caplog, options, rows
) -> None:
    ws = make_workspace({"orders": ("orders", "orders.csv", ORDERS_2099)}, orders=options)
    ws.ingest.run()
    assert ws.engine.count("raw_orders") == rows
    ws.identity.run()
    with caplog.at_level(logging.WARNING, logger="personify.profiles.build"):
        result = ws.profiles.run()
    assert result.as_of == dt.date(2025, 6, 10)  # the day after the latest real purchase
    if rows == 4:
        assert "1 row(s) dated after today" in caplog.text and "'orders'" in caplog.text
    rows = ws.engine.fetch_df("SELECT frequency, monetary, recency_days FROM profiles ORDER BY 2")
    assert rows["frequency"].tolist() == [1, 2]
    assert rows["monetary"].tolist() == [30, 65]  # the 2099 order counts nowhere
    assert rows["recency_days"].tolist() == [40, 1]  # 1 May -> 10 June; 9 June -> 10 June


def test_orders_without_channel_or_discount_columns_leave_those_empty(make_workspace) -> None:
    orders = "order_id,account_id,order_ts,total\nO1,A1,2025-03-01T10:00:00,40\n"
    ws = make_workspace({"orders": ("orders", "orders.csv", orders)})
    ws.ingest.run()
    ws.identity.run()
    ws.profiles.run()
    row = ws.engine.sql(
        "SELECT web_share, app_share, store_share, discount_share, age, frequency, monetary "
        "FROM profiles"
    ).fetchone()
    assert row == (None, None, None, None, None, 1, 40)  # empty, not 0% or 100%
