"""Cross-sell propensity on a planted company: 40 regulars who buy often and, in the last
180 days, each try one category new to them; 40 one-off buyers from long ago who never
come back. The label and counts below were worked out from that construction."""

from __future__ import annotations

import datetime as dt

import pytest
from sklearn.metrics import roc_auc_score

AS_OF = dt.date(2026, 1, 1)  # split = 2025-07-05 (180 days before)


class _Shop:
    """Orders of one line each, written as the three source files."""

    def __init__(self, products: str) -> None:
        self.products = products
        self.orders = ["order_id,account_id,order_ts,total"]
        self.lines = ["order_id,line_no,product_id,quantity,unit_price"]

    def order(self, account: str, day: dt.date, product: str) -> None:
        n = len(self.orders)
        self.orders.append(f"O{n},{account},{day}T12:00:00,10")
        self.lines.append(f"O{n},1,{product},1,10")

    def files(self) -> dict[str, tuple[str, str, str]]:
        return {
            "products": ("products", "products.csv", self.products),
            "orders": ("orders", "orders.csv", "\n".join(self.orders) + "\n"),
            "lines": ("order_lines", "lines.csv", "\n".join(self.lines) + "\n"),
        }


def _files():
    shop = _Shop("product_id,category\nP1,garden\nP2,kitchen\nP3,toys\n")
    for i in range(40):  # regulars: garden monthly in 2025, then kitchen after the split
        for month in range(1, 7):
            shop.order(f"R{i}", dt.date(2025, month, 1 + i % 20), "P1")
        shop.order(f"R{i}", dt.date(2025, 8, 1 + i % 20), "P2")
    for i in range(40):  # one-offs in 2023
        shop.order(f"S{i}", dt.date(2023, 3, 1 + i % 20), "P1")
    return shop.files()


def test_cross_sell_learns_who_buys_into_a_new_category(make_workspace) -> None:
    ws = make_workspace(_files())
    ws.config = ws.config.model_copy(update={"as_of": AS_OF})
    ws.ingest.run()
    ws.identity.run()
    result = ws.profiles.run()
    model = ws.engine.fetch_df("SELECT * FROM profile_models WHERE model = 'cross_sell'")
    assert len(model) == 1
    row = model.iloc[0]
    assert row["target"] == "new_category_180d"
    # trained on who had bought before the split: all 80; the 40 regulars tried kitchen
    assert (row["persons"], row["positives"]) == (80, 40)
    assert row["cv_score"] > 0.95
    assert result.models["cross_sell"].cv_score == pytest.approx(row["cv_score"], abs=1e-6)
    scores = ws.engine.fetch_df(
        "SELECT DISTINCT o.account_id, p.cross_sell_propensity FROM profiles p "
        "JOIN identity_links l USING (person_id) "
        "JOIN raw_orders o ON l.source = 'orders' AND l.record_id = o.order_id"
    )
    assert scores["cross_sell_propensity"].notna().all() and len(scores) == 80
    regular = scores["account_id"].str.startswith("R")
    assert roc_auc_score(regular, scores["cross_sell_propensity"]) > 0.95


def test_without_categories_there_is_no_cross_sell_model(make_workspace) -> None:
    files = _files()
    files.pop("products")
    ws = make_workspace(files)
    ws.config = ws.config.model_copy(update={"as_of": AS_OF})
    ws.ingest.run()
    ws.identity.run()
    result = ws.profiles.run()
    assert "cross_sell" not in result.models
    assert ws.engine.scalar("SELECT count(cross_sell_propensity) FROM profiles") == 0


def _tiered_files():
    """Garden has three priced products (10, 20, 30: tiers 1, 2, 3); kitchen has one, so
    no tiers. 40 regulars buy the cheapest garden product monthly in 2025, then the top
    one after the split (they trade up); 40 one-offs bought it once in 2023; 10 premium
    buyers bought the top one before the split (nothing higher to trade up to)."""
    shop = _Shop(
        "product_id,category,price\nP1,garden,10\nP4,garden,20\nP5,garden,30\nP2,kitchen,9\n"
    )
    for i in range(40):
        for month in range(1, 7):
            shop.order(f"R{i}", dt.date(2025, month, 1 + i % 20), "P1")
        shop.order(f"R{i}", dt.date(2025, 8, 1 + i % 20), "P5")
        shop.order(f"R{i}", dt.date(2025, 9, 1 + i % 20), "P2")  # untiered: changes nothing
    for i in range(40):
        shop.order(f"S{i}", dt.date(2023, 3, 1 + i % 20), "P1")
    for i in range(10):
        shop.order(f"T{i}", dt.date(2025, 2, 1 + i), "P5")
    return shop.files()


def test_upsell_learns_who_trades_up_and_skips_top_tier_buyers(make_workspace) -> None:
    ws = make_workspace(_tiered_files())
    ws.config = ws.config.model_copy(update={"as_of": AS_OF})
    ws.ingest.run()
    ws.identity.run()
    result = ws.profiles.run()
    row = ws.engine.fetch_df("SELECT * FROM profile_models WHERE model = 'upsell'").iloc[0]
    assert row["target"] == "higher_tier_180d"
    # trained on who had bought below the top tier before the split: regulars and one-offs
    assert (row["persons"], row["positives"]) == (80, 40)
    assert row["cv_score"] > 0.95
    assert result.models["upsell"].cv_score == pytest.approx(row["cv_score"], abs=1e-6)
    scores = ws.engine.fetch_df(
        "SELECT DISTINCT o.account_id, p.upsell_propensity FROM profiles p "
        "JOIN identity_links l USING (person_id) "
        "JOIN raw_orders o ON l.source = 'orders' AND l.record_id = o.order_id"
    ).set_index("account_id")["upsell_propensity"]
    # regulars now own the top tier too: only the one-offs can still trade up
    assert scores[scores.index.str.startswith(("R", "T"))].isna().all()
    assert scores[scores.index.str.startswith("S")].notna().all()


def test_without_prices_there_is_no_upsell_model(make_workspace) -> None:
    ws = make_workspace(_files())
    ws.config = ws.config.model_copy(update={"as_of": AS_OF})
    ws.ingest.run()
    ws.identity.run()
    result = ws.profiles.run()
    assert "upsell" not in result.models
    assert ws.engine.scalar("SELECT count(upsell_propensity) FROM profiles") == 0
