"""Persona cards of a company that only has a table of customer attributes (no purchases).

Sixty customers in two plain groups of thirty, so every figure is known by hand:
group A: month-to-month contract, 10 months' tenure, churned, satisfaction 2 of 10;
group B: two-year contract, 50 months' tenure, stayed, satisfaction 8 of 10.
Everyone: tenure 30, churned 50%, satisfaction 5, contract half and half.
"""

import json

import pytest

from personify.config import SegmentsConfig

A_TEXT = "The monthly price keeps rising and the bills are confusing to read"
B_TEXT = "Friendly support staff and reliable coverage everywhere I travel"


def _table() -> str:
    rows = ["customer_id,contract,tenure,churn,satisfaction,comment"]
    for i in range(1, 61):
        if i <= 30:
            rows.append(f"T{i},Month-to-month,10,true,2,{A_TEXT}")
        else:
            rows.append(f"T{i},Two year,50,false,8,{B_TEXT}")
    return "\n".join(rows) + "\n"


OPTIONS = {
    "telco": {
        "attributes": {
            "contract": {"role": "categorical", "label": "Contract"},
            "tenure": {"role": "numeric", "label": "Tenure (months)"},
            "churn": {"role": "boolean", "label": "Churned"},
        },
        "scales": {"satisfaction": {"range": [0, 10]}},
        "answers": {"comment": {"label": "Anything else?"}},
    }
}


@pytest.fixture
def result(make_workspace):
    ws = make_workspace({"telco": ("customer_attributes", "telco.csv", _table())}, **OPTIONS)
    # Nobody buys: segment every person, into two segments.
    # A small company: k below the default 50, set explicitly.
    small = ws.config.personas.model_copy(update={"k_anonymity": 10})
    ws.config = ws.config.model_copy(
        update={"segments": SegmentsConfig(k=2, min_orders=0), "personas": small}
    )
    results = ws.run()
    return ws, results


def _persona(personas, tenure: float):
    [p] = [
        p
        for p in personas
        if any(a["name"] == "attr_tenure" and a["segment"] == tenure for a in p["attributes"])
    ]
    return p


def test_cards_compare_declared_attributes_with_everyone(result) -> None:
    _, results = result
    personas = results["personas"].personas
    assert sorted(p["size"]["customers"] for p in personas) == [30, 30]
    a = _persona(personas, 10)
    attrs = {x["name"]: x for x in a["attributes"]}
    assert (attrs["attr_tenure"]["label"], attrs["attr_tenure"]["population"]) == (
        "Tenure (months)",
        30,
    )
    assert (attrs["attr_churn"]["segment"], attrs["attr_churn"]["population"]) == (1.0, 0.5)
    assert attrs["attr_contract"]["segment"] == [{"value": "Month-to-month", "share": 1.0}]
    assert attrs["attr_contract"]["population"] == [
        {"value": "Month-to-month", "share": 0.5},
        {"value": "Two year", "share": 0.5},
    ]
    [scale] = a["scales"]
    assert (scale["segment"], scale["population"], scale["range"]) == (2, 5, [0, 10])
    traits = {t["feature"]: t["text"] for t in a["traits"]}
    assert traits["attr_tenure"] == "Tenure (months) below average (10.00 vs 30.00)"
    assert traits["attr_churn"] == "Churned more often than average (100% vs 50%)"
    assert traits["scale_satisfaction"] == "Rates 'satisfaction' low in surveys (2.00 vs 5.00)"


def test_persons_without_purchases_give_honest_cards(result) -> None:
    ws, results = result
    for p in results["personas"].personas:
        json.dumps(p, allow_nan=False)  # no NaN anywhere in the document
        assert p["value"]["revenue_share"] is None and p["value"]["avg_order_value"] is None
        assert "(50% of customers, no revenue recorded)" in p["description"]
        # not a shopper (nobody bought): named after the contract most of them share
        assert p["title"] == (
            "The Month-to-month Customer"
            if any(a["name"] == "attr_tenure" and a["segment"] == 10 for a in p["attributes"])
            else "The Two year Customer"
        )
        assert p["channels"] == [] and p["demographics"]["age"] is None
        assert not p["negative"]
    a = _persona(results["personas"].personas, 10)
    md = (ws.output_dir / "personas" / f"{a['slug']}.md").read_text(encoding="utf-8")
    assert "| Tenure (months) | 10 | 30 |" in md
    assert "| Churned | 100% | 50% |" in md
    assert "| Contract | Month-to-month 100% | Month-to-month 50% · Two year 50% |" in md
    assert "| Satisfaction | 0–10 | 2 | 5 |" in md
    assert "No channel data." in md and "No demographic data." in md
    assert "nan" not in md.lower()
    html = results["personas"].report.read_text(encoding="utf-8")
    assert "Survey: Satisfaction" in html and "nan" not in html.lower()


def test_declared_open_answers_feed_the_quotes(result) -> None:
    _, results = result
    a = _persona(results["personas"].personas, 10)
    b = _persona(results["personas"].personas, 50)
    assert [q["text"] for q in a["quotes"]] == [A_TEXT]  # the other 29 repeat it
    assert a["quotes"][0]["source"] == "customer_attributes" and a["quotes"][0]["date"] == ""
    assert [q["text"] for q in b["quotes"]] == [B_TEXT]
    assert {t["term"] for t in a["themes"]} & {"price", "bills", "monthly price"}
