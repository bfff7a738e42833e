"""The segments page shows the charts the segments stage wrote, served as SVG files."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

import duckdb
from fastapi.testclient import TestClient

from tests.web.conftest import Demo


def test_segments_page_shows_the_stage_charts(
    as_user: Callable[[str], TestClient], demo: Demo
) -> None:
    manifest = json.loads((demo.workspace / "output" / "segments" / "charts.json").read_text())
    with duckdb.connect(str(demo.workspace / "personify.duckdb"), read_only=True) as con:
        [(run,)] = con.execute(
            "SELECT segment_run FROM personas GROUP BY 1 ORDER BY max(created_at) DESC LIMIT 1"
        ).fetchall()
        [(k,)] = con.execute("SELECT count(*) FROM segments WHERE run_id = ?", [run]).fetchall()
    assert manifest["run_id"] == run
    client = as_user("vic")
    page = client.get("/segments")
    assert page.status_code == 200
    sources = re.findall(r'<img class="chart" src="([^"]+)"', page.text)
    assert sources == [f"/segments/charts/{n}.svg" for n in ("map", "attributes", "distributions")]
    for src in sources:
        svg = client.get(src)
        assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
        assert "script-src" not in svg.headers["content-security-policy"]
        root = ET.fromstring(svg.content)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert not list(root.iter("{http://www.w3.org/2000/svg}script"))
    layers = ET.fromstring(client.get("/segments/charts/map.svg").content).iter(
        "{http://www.w3.org/2000/svg}g"
    )
    assert {g.get("id") for g in layers if (g.get("id") or "").startswith("segment-")} == {
        f"segment-{i}" for i in range(1, k + 1)
    }
    assert client.get("/segments/charts/other.svg").status_code in (404, 422)
    assert client.get("/segments/charts/..%2Fpersonify.yaml").status_code in (404, 422)


def test_segment_charts_need_a_login(site: TestClient) -> None:
    r = site.get("/segments/charts/map.svg", follow_redirects=False)
    assert r.status_code in (302, 303, 401)
