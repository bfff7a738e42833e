"""Drift between two persona runs, matched by shared members (expected values by hand)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from personify import Workspace
from personify.cli import app
from personify.refresh import carried_names, latest_drift
from personify.web import create_site
from personify.web.users import UserStore
from tests.web.conftest import login

MEMBERS = {  # run -> segment -> person numbers
    "run-a": {1: range(1, 11), 2: range(11, 21), 3: range(31, 36)},
    "run-b": {1: [*range(1, 9), *range(21, 26)], 2: range(11, 21), 3: range(26, 31)},
}
NAMES = {("run-a", 1): "Ann", ("run-a", 2): "Bob", ("run-a", 3): "Cy",
         ("run-b", 1): "Anya", ("run-b", 2): "Bert", ("run-b", 3): "Dee"}  # fmt: skip
TRAITS = {  # (run, segment) -> features
    ("run-a", 1): ["age", "web_share"],
    ("run-b", 1): ["age", "store_share"],
}


def _doc(run: str, sid: int, size: int) -> dict[str, Any]:
    return {
        "segment_run": run,
        "segment_id": sid,
        "slug": f"{NAMES[run, sid].lower()}-{run}-{sid}",
        "name": NAMES[run, sid],
        "title": f"Title {sid}",
        "size": {"customers": size, "share": size / 28},
        "value": {"revenue_share": 0.1 * sid, "avg_revenue": 100.0 * sid},
        "traits": [
            {"feature": f, "text": f"{f} text {run}"} for f in TRAITS.get((run, sid), ["age"])
        ],
        "themes": [{"term": "tea", "score": 1.0, "p_value": 0.001}]
        if (run, sid) == ("run-b", 1)
        else [],
    }


@pytest.fixture
def two_runs(tmp_path: Path) -> Path:
    ws = Workspace.init(tmp_path / "ws")
    e = ws.engine
    e.sql(
        "CREATE TABLE segment_membership (run_id VARCHAR, person_id VARCHAR, "
        "segment_id INTEGER, distance DOUBLE)"
    )
    e.sql(
        """CREATE TABLE personas (segment_run VARCHAR, persona_id VARCHAR, segment_id INTEGER,
        slug VARCHAR, name VARCHAR, title VARCHAR, negative BOOLEAN, created_at TIMESTAMP,
        document JSON)"""
    )
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    created = {"run-a": now - dt.timedelta(days=120), "run-b": now - dt.timedelta(days=1)}
    for run, segments in MEMBERS.items():
        for sid, people in segments.items():
            people = list(people)
            for n in people:
                e.sql("INSERT INTO segment_membership VALUES (?, ?, ?, 0)", [run, f"P{n}", sid])
            d = _doc(run, sid, len(people))
            e.sql(
                "INSERT INTO personas VALUES (?, ?, ?, ?, ?, ?, false, ?, ?)",
                [
                    run,
                    f"{run}-{sid}",
                    sid,
                    d["slug"],
                    d["name"],
                    d["title"],
                    created[run],
                    json.dumps(d),
                ],
            )
    ws.close()
    UserStore(ws.path).add("vic", "viewer", "viewer password 1")
    return ws.path


def test_drift_matches_by_members_and_names_new_and_vanished(two_runs: Path) -> None:
    with Workspace(two_runs) as ws:
        report = latest_drift(ws)
    assert report is not None
    assert (report["segment_run"], report["previous_run"]) == ("run-b", "run-a")
    by_name = {m["persona"]["segment_id"]: m for m in report["matched"]}
    assert set(by_name) == {1, 2}
    one = by_name[1]
    assert one["previous"]["segment_id"] == 1
    assert one["shared_customers"] == 8
    assert one["jaccard"] == round(8 / 15, 4)  # 8 shared of 10 + 13 - 8
    assert one["customers"] == {"before": 10, "after": 13, "change": 3}
    assert one["traits_added"] == ["store_share text run-b"]
    assert one["traits_gone"] == ["web_share text run-a"]
    assert one["themes_added"] == ["tea"] and one["themes_gone"] == []
    assert by_name[2]["jaccard"] == 1.0 and by_name[2]["customers"]["change"] == 0
    assert [p["name"] for p in report["new"]] == ["Dee"]
    assert [p["name"] for p in report["vanished"]] == ["Cy"]


def test_history_page_and_api(two_runs: Path) -> None:
    with TestClient(create_site(two_runs)) as client:
        login(client, "vic")  # the same viewer password as the demo's
        page = client.get("/history")
        assert page.status_code == 200
        assert "New personas" in page.text and "Dee" in page.text
        assert "Vanished personas" in page.text and "Cy" in page.text
        api = client.get("/api/v1/history").json()
        assert [r["segment_run"] for r in api["runs"]] == ["run-b", "run-a"]
        assert api["drift"]["matched"][0]["shared_customers"] == 8


def test_refresh_if_older_than_skips_young_personas(two_runs: Path) -> None:
    result = CliRunner().invoke(app, ["refresh", "-w", str(two_runs), "--if-older-than", "90d"])
    assert result.exit_code == 0, result.output
    assert "skipped" in result.output and "1.0 days old" in result.output
    bad = CliRunner().invoke(app, ["refresh", "-w", str(two_runs), "--if-older-than", "soon"])
    assert bad.exit_code != 0


def test_a_continuing_persona_keeps_its_name(two_runs: Path) -> None:
    with Workspace(two_runs) as ws:
        # run-b's segments 1 and 2 continue run-a's Ann (8 of 15) and Bob (10 of 10); 3 is new
        assert carried_names(ws, "run-b") == {1: "Ann", 2: "Bob"}
        # and the other way round: run-a's segments against run-b (the latest other run)
        assert carried_names(ws, "run-a") == {1: "Anya", 2: "Bert"}
        assert carried_names(ws, "run-c") == {}  # no membership: nothing to continue


def test_persona_page_says_what_it_continues(two_runs: Path) -> None:
    with TestClient(create_site(two_runs)) as client:
        login(client, "vic")
        page = client.get("/personas/anya-run-b-1").text
        assert "continues Ann, Title 1, sharing 53% of their members" in page
        assert "customers 10 → 13" in page
        assert "New since the previous refresh" in client.get("/personas/dee-run-b-3").text


def test_a_persisting_persona_keeps_its_name_and_picture(two_runs: Path) -> None:
    from personify.personas.render import avatar_svg
    from personify.refresh import pictures

    with Workspace(two_runs) as ws:
        # run-b's segment 1 continues run-a's 1 (Jaccard 8/15), 2 continues 2; 3 is new
        assert carried_names(ws, "run-b") == {1: "Ann", 2: "Bob"}
        assert pictures(ws, "run-b") == {
            "anya-run-b-1": "ann-run-a-1",
            "bert-run-b-2": "bob-run-a-2",
        }
    with TestClient(create_site(two_runs)) as client:
        login(client, "vic")
        kept = client.get("/personas/anya-run-b-1/avatar.svg").text
        assert kept == avatar_svg("ann-run-a-1", size=128)  # the picture of its line
        assert kept != avatar_svg("anya-run-b-1", size=128)  # not one drawn from its new slug
        own = client.get("/personas/dee-run-b-3/avatar.svg").text
        assert own == avatar_svg("dee-run-b-3", size=128)  # a new persona has its own
        assert avatar_svg("ann-run-a-1", size=96) in client.get("/").text
        page = client.get("/personas/anya-run-b-1").text
        assert "This persona's history (2 versions)" in page
        assert "Ann, Title 1" in page and "Anya, Title 1" in page  # both versions listed


def test_the_drift_chart_is_an_svg_image_with_escaped_text(two_runs: Path) -> None:
    with Workspace(two_runs) as ws:
        report = latest_drift(ws)
    assert report is not None
    report["matched"][0]["persona"]["name"] = "<script>alert(1)</script> $x$"
    from personify.refresh import drift_svg

    svg = drift_svg(report)
    assert "<script" not in svg and "&lt;script&gt;alert(1)&lt;/script&gt; $x$" in svg
    assert "Dee (new)" in svg and "Cy (vanished)" in svg
    with TestClient(create_site(two_runs)) as client:
        login(client, "vic")
        assert '<img src="/history/drift.svg"' in client.get("/history").text
        chart = client.get("/history/drift.svg")
        assert chart.status_code == 200 and chart.headers["content-type"] == "image/svg+xml"
        assert "script-src" not in chart.headers["content-security-policy"]  # none allowed
        assert chart.text.lstrip().startswith("<?xml") and "<script" not in chart.text
        for name in ("Anya", "Bert", "Dee (new)", "Cy (vanished)", "Customers"):
            assert name in chart.text
