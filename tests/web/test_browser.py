"""The web app as a person uses it: Debian's headless Chromium driven by Playwright.

One server (``personify serve``: event API and web app) and one browser for the session;
each test opens its own context (cookie jar). Screenshots go to build/screenshots/.
Without chromium the tests fail with how to install it (``make test`` does, as root).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from personify.events import KeyStore
from tests.events.conftest import EventServer
from tests.web.conftest import PASSWORDS, XSS_BODY, XSS_SUBJECT, XSS_TICKET, Demo

SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


def _chromium() -> str:
    found = os.environ.get("PERSONIFY_CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail(
            "the browser tests need Debian's chromium: run 'make chromium' as root "
            "(apt-get install chromium), or set PERSONIFY_CHROMIUM to a Chromium binary"
        )
    return found


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=_chromium(), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield b
        b.close()


class Visit:
    """A browser context of one user, recording console errors (CSP violations among them)."""

    def __init__(self, browser: Browser, server: EventServer) -> None:
        self.base = server.url
        self.context: BrowserContext = browser.new_context(
            viewport={"width": 1280, "height": 860}, accept_downloads=True
        )
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def login(self, name: str) -> Visit:
        self.page.goto(self.base + "/")
        assert self.page.url.startswith(self.base + "/login")
        self.page.get_by_label("User name").fill(name)
        self.page.get_by_label("Password").fill(PASSWORDS[name][1])
        self.page.get_by_role("button", name="Log in").click()
        self.page.wait_for_url(self.base + "/")
        return self

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def visit(browser: Browser, server: EventServer) -> Iterator[Any]:
    opened: list[Visit] = []

    def make(name: str) -> Visit:
        v = Visit(browser, server).login(name)
        opened.append(v)
        return v

    yield make
    for v in opened:
        # no script error and no CSP violation ("Refused to ..."); the 403 page's own
        # status, and the live count's 422 for a rule being typed, are reported as failed
        # loads, which is what they are
        expected = ("status of 403", "status of 422")
        assert [e for e in v.errors if not any(x in e for x in expected)] == [], v.errors
        v.context.close()


def _personas(demo: Demo) -> list[dict[str, Any]]:
    with duckdb.connect(str(demo.workspace / "personify.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT document FROM personas ORDER BY negative, segment_id").fetchall()
    return [json.loads(r[0]) for r in rows]


def test_log_in_gallery_persona_and_download(visit: Any, demo: Demo, tmp_path: Path) -> None:
    v = visit("vic")
    docs = _personas(demo)
    cards = v.page.locator("li.card")
    assert cards.count() == len(docs)
    assert cards.locator("h2").all_inner_texts() == [d["name"] for d in docs]
    v.shot("gallery")
    first = docs[0]
    v.page.get_by_role("link", name=first["name"], exact=True).click()
    v.page.wait_for_url(f"{v.base}/personas/{first['slug']}")
    assert v.page.get_by_role("heading", level=1).inner_text().startswith(first["name"])
    evidence = v.page.locator("details.evidence").first
    assert not evidence.locator("p").is_visible()
    evidence.locator("summary").click()
    assert evidence.locator("p").is_visible()  # the evidence, on demand
    assert evidence.locator("p").inner_text() in first["evidence"].values()
    v.shot("persona")
    with v.page.expect_download() as info:
        v.page.get_by_role("link", name="JSON").click()
    saved = tmp_path / "card.json"
    info.value.save_as(saved)
    assert json.loads(saved.read_text()) == first
    with v.page.expect_download() as info:
        v.page.get_by_role("link", name="PDF").click()
    pdf = tmp_path / "card.pdf"
    info.value.save_as(pdf)
    from pypdf import PdfReader

    text = PdfReader(pdf).pages[0].extract_text()
    assert first["name"] in text and first["title"] in text


def test_compare_two_from_the_gallery(visit: Any, demo: Demo) -> None:
    v = visit("vic")
    docs = _personas(demo)
    checks = v.page.get_by_label("compare")
    checks.nth(0).check()
    checks.nth(1).check()
    v.page.get_by_role("button", name="Compare selected").click()
    v.page.wait_for_url(f"{v.base}/compare?*")
    headers = v.page.locator("table.compare thead th a").all_inner_texts()
    assert headers == [docs[0]["name"], docs[1]["name"]]
    v.shot("compare")


def test_viewer_gets_403_on_an_analyst_page(visit: Any) -> None:
    v = visit("vic")
    response = v.page.goto(f"{v.base}/customers/support_tickets:{XSS_TICKET}")
    assert response is not None and response.status == 403
    assert v.page.get_by_role("heading", level=1).inner_text() == "Not allowed"
    assert v.page.get_by_role("link", name="Customers").count() == 0


def test_the_audience_builder_counts_as_the_rule_is_typed(visit: Any, demo: Demo) -> None:
    import duckdb

    con = duckdb.connect(str(demo.workspace / "personify.duckdb"), read_only=True)
    try:
        expected = con.execute("SELECT count(*) FROM profiles WHERE frequency > 1").fetchall()[0][0]
    finally:
        con.close()
    v = visit("alan")
    v.page.get_by_role("link", name="Audiences").click()
    v.page.get_by_label("Rule").fill("frequency > 1")
    live = v.page.locator("#live-count")
    live.filter(has_text="persons").wait_for()
    assert live.inner_text().startswith(f"{expected:,} of")  # the script's own count, no submit
    v.page.get_by_label("Rule").fill("frequncy > 1")
    live.filter(has_text="Position 1").wait_for()
    v.shot("audiences")


def test_xss_in_a_ticket_shows_as_text(visit: Any) -> None:
    v = visit("alan")
    v.page.get_by_role("link", name="Customers").click()
    v.page.get_by_label("Person id, record id, SOURCE:RECORD_ID or e-mail").fill(
        f"support_tickets:{XSS_TICKET}"
    )
    v.page.get_by_role("button", name="Look up").click()
    v.page.wait_for_url(f"{v.base}/customers/P*")
    v.page.locator("summary", has_text="support_tickets").click()
    row = v.page.locator("table.records tr", has_text=XSS_TICKET)
    assert XSS_SUBJECT in row.inner_text()
    assert XSS_BODY in row.inner_text()
    assert v.page.evaluate("typeof window.__xss") == "undefined"
    assert v.page.locator("table.records img, table.records b").count() == 0
    v.shot("customer")


def test_segments_explorer(visit: Any, demo: Demo) -> None:
    v = visit("vic")
    v.page.get_by_role("link", name="Segments").click()
    v.page.wait_for_url(f"{v.base}/segments")
    assert v.page.locator("svg.chart rect").count() == 2 * len(_personas(demo))
    v.shot("segments")


def test_events_still_collected_beside_the_web_app(server: EventServer) -> None:
    ok = server.post("/v1/track", {"userId": "u1", "event": "Viewed"})
    assert ok.status_code == 200 and ok.json() == {"success": True}
    assert server.post("/v1/track", {"userId": "u1", "event": "x"}, auth=None).status_code == 401
    assert httpx.get(f"{server.url}/openapi.json").json()["info"]["title"] == (
        "Personify event collection"
    )


def test_history_shows_the_shift_and_its_chart(browser: Browser, shifted_demo: Path) -> None:
    """Two persona runs (the demo's second quarter): the History page, its chart image and
    the persona page's lineage, with no script error or CSP violation."""
    ws = shifted_demo / "workspace"
    report = json.loads((ws / "output" / "drift.json").read_text())
    _, key = KeyStore(ws).create("browser")
    srv = EventServer(ws, key).start()
    try:
        v = Visit(browser, srv).login("vic")
        v.page.get_by_role("link", name="History").click()
        v.page.wait_for_url(f"{v.base}/history")
        chart = v.page.locator("figure.chart img")
        chart.wait_for()
        assert v.page.evaluate(
            "() => { const i = document.querySelector('figure.chart img');"
            " return i.complete && i.naturalWidth > 0; }"
        )
        rows = v.page.locator("table tbody tr", has_text="the quarter before")
        assert rows.count() >= 1  # the channel change, named in the table
        assert "grew" in v.page.locator("main").inner_text()
        v.shot("history")
        m = report["matched"][0]
        v.page.goto(f"{v.base}/personas/{m['persona']['slug']}")
        assert m["previous"]["name"] in v.page.locator("main").inner_text()
        assert v.errors == [], v.errors
        v.context.close()
    finally:
        srv.stop()
