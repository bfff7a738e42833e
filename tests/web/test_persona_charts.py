"""The persona page shows the card's charts (distinguishing attributes, journey funnel,
value against the company), its empathy map and its journey map, under the site's strict
CSP: the inline SVG carries no style attribute or element for the CSP to block."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable

import duckdb
from fastapi.testclient import TestClient

from personify.web.security import CSP
from tests.web.conftest import Demo


def _docs(demo: Demo) -> list[dict]:
    con = duckdb.connect(str(demo.workspace / "personify.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "SELECT document FROM personas WHERE segment_run = "
            "(SELECT max(segment_run) FROM personas)"
        ).fetchall()
    finally:
        con.close()
    return [json.loads(r[0]) for r in rows]


def test_the_persona_page_draws_its_charts_and_maps(
    as_user: Callable[[str], TestClient], demo: Demo
) -> None:
    assert "style-src 'self'" in CSP and "unsafe-inline" not in CSP
    docs = [d for d in _docs(demo) if d["traits"]]
    assert docs
    d = docs[0]
    page = as_user("vic").get(f"/personas/{d['slug']}")
    assert page.status_code == 200
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    charts = re.findall(r'<svg [^>]*class="chart".*?</svg>', page.text, flags=re.S)
    labels = {re.search(r'aria-label="([^"]+)"', c).group(1) for c in charts}  # type: ignore[union-attr]
    assert {"distinguishing attributes", "journey funnel", "value against the company"} <= labels
    for chart in charts:
        assert "style=" not in chart and "<style" not in chart
        assert "fill=" in chart  # colours as presentation attributes
    # The traits chart names each distinguishing attribute (escaped, as text).
    traits = next(c for c in charts if "distinguishing attributes" in c)
    text = html.unescape(" ".join(re.findall(r"<text[^>]*>([^<]*)</text>", traits)))
    assert str(d["traits"][0]["label"]).replace("Inferred: ", "≈ ")[:20] in text
    # The empathy map's quadrants and the journey map's stages are on the page.
    for quadrant in ("Says", "Thinks", "Does", "Feels"):
        assert f"<h3>{quadrant}</h3>" in page.text
    for s in d["empathy_map"]["does"]["statements"]:
        assert html.escape(s["text"], quote=False) in page.text or s["text"] in html.unescape(
            page.text
        )
    for stage in ("Awareness", "Consideration", "Purchase", "Retention", "Advocacy"):
        assert f'<th scope="row">{stage}</th>' in page.text
