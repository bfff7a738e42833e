"""Gross margin where products have a unit cost, worked out by hand.

Ann's order: 2 kettles at 20 (cost 12 each) -> 40 - 24 = 16; a pan at 30 (cost 10)
returned -> left out; a rug at 50 with no cost -> left out. In store: a kettle at 20
less a 2 discount -> 18 - 12 = 6. Margin 22 on 58 of revenue: rate 22 / 58.
Bob bought only the rug: no cost known, so no margin (empty, not 0).
"""

from __future__ import annotations

import pandas as pd
import pytest

CRM = ("customers", "crm.csv", "customer_id,email,loyalty_card\nC1,ann@x.com,L1\nC2,bob@x.com,\n")
PRODUCTS = (
    "products",
    "products.csv",
    "product_id,category,price,unit_cost\nP1,kitchen,20,12\nP2,kitchen,30,10\nP3,decor,50,\n",
)
ORDERS = (
    "orders",
    "orders.csv",
    "order_id,account_id,email,order_ts,total\n"
    "O1,A1,ann@x.com,2025-09-01T08:30:00,120\n"
    "O2,A2,bob@x.com,2025-09-02T08:30:00,50\n",
)
LINES = (
    "order_lines",
    "lines.csv",
    "order_id,line_no,product_id,quantity,unit_price,returned\n"
    "O1,1,P1,2,20,false\nO1,2,P2,1,30,true\nO1,3,P3,1,50,false\nO2,1,P3,1,50,false\n",
)
RECEIPTS = (
    "pos_receipts",
    "receipts.csv",
    "receipt_id,line_no,loyalty_card,receipt_ts,product_id,quantity,unit_price,discount\n"
    "R1,1,L1,2025-09-05T12:00:00,P1,1,20,2\n",
)


@pytest.fixture
def rows(make_workspace) -> pd.DataFrame:
    ws = make_workspace(
        {"crm": CRM, "products": PRODUCTS, "orders": ORDERS, "lines": LINES, "pos": RECEIPTS}
    )
    ws.ingest.run()
    ws.identity.run()
    ws.profiles.run()
    return ws.engine.fetch_df(
        "SELECT p.margin, p.margin_rate, g.customer_id FROM profiles p "
        "JOIN golden_record g USING (person_id) WHERE g.customer_id IS NOT NULL"
    ).set_index("customer_id")


def test_margin_counts_kept_items_with_a_known_cost(rows) -> None:
    assert rows.loc["C1", "margin"] == pytest.approx(22)
    assert rows.loc["C1", "margin_rate"] == pytest.approx(22 / 58, abs=1e-6)


def test_without_a_cost_there_is_no_margin(rows) -> None:
    assert pd.isna(rows.loc["C2", "margin"]) and pd.isna(rows.loc["C2", "margin_rate"])
