"""Pages and API show what the workspace holds (read independently here with DuckDB)."""

from __future__ import annotations

import json
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
from fastapi.testclient import TestClient

from personify.web import create_site
from personify.web.security import CSP
from tests.web.conftest import XSS_BODY, XSS_SUBJECT, XSS_TICKET, Demo, login


class _Page(HTMLParser):
    """What a browser would show as text, and which elements the markup makes."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(markup)
        self.text = " ".join(" ".join(self.parts).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _shown(markup: str, text: str) -> bool:
    return " ".join(text.split()) in _Page(markup).text


def _no_injected_elements(markup: str) -> None:
    page = _Page(markup)
    scripts = [a for t, a in page.tags if t == "script"]
    assert scripts == [{"src": "/static/web.js", "defer": None}]
    assert not [t for t, _ in page.tags if t in ("img", "iframe")]
    assert not [a for _, a in page.tags if any(k.startswith("on") for k in a)]


def _db(demo: Demo) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    with duckdb.connect(str(demo.workspace / "personify.duckdb"), read_only=True) as con:
        docs = [json.loads(r[0]) for r in con.execute("SELECT document FROM personas").fetchall()]
        segs = con.execute("SELECT segment_id, size FROM segments").fetchall()
    return docs, segs


def test_gallery_shows_every_persona(as_user: Callable[[str], TestClient], demo: Demo) -> None:
    docs, _ = _db(demo)
    assert len(docs) >= 2
    page = as_user("vic").get("/")
    assert page.status_code == 200
    for d in docs:
        assert f'href="/personas/{d["slug"]}"' in page.text
        assert _shown(page.text, d["title"])
    api = as_user("vic").get("/api/v1/personas").json()
    assert sorted(p["slug"] for p in api) == sorted(d["slug"] for d in docs)
    by_slug = {d["slug"]: d for d in docs}
    for p in api:
        assert p["customers"] == by_slug[p["slug"]]["size"]["customers"]


def test_persona_page_shows_the_card_and_downloads_it(
    as_user: Callable[[str], TestClient], demo: Demo
) -> None:
    docs, _ = _db(demo)
    d = max(docs, key=lambda d: len(d["quotes"]))
    client = as_user("vic")
    page = client.get(f"/personas/{d['slug']}")
    assert page.status_code == 200
    for t in d["traits"]:
        assert _shown(page.text, t["text"])
    for q in d["quotes"]:
        assert _shown(page.text, q["text"])
    assert page.text.count('<details class="evidence">') >= len(
        [k for k in ("size", "value", "demographics", "traits", "channels") if d["evidence"].get(k)]
    )
    got = client.get(f"/personas/{d['slug']}/download/json")
    assert got.headers["content-disposition"] == f'attachment; filename="{d["slug"]}.json"'
    assert got.json() == d
    md = client.get(f"/personas/{d['slug']}/download/md")
    written = demo.workspace / "output" / "personas" / f"{d['slug']}.md"
    assert md.content == written.read_bytes()
    assert client.get(f"/api/v1/personas/{d['slug']}/export/json").json() == d
    pdf = client.get(f"/personas/{d['slug']}/download/pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    from io import BytesIO

    from PIL import Image
    from pypdf import PdfReader

    pages = PdfReader(BytesIO(pdf.content)).pages
    assert len(pages) == 1 and d["name"] in pages[0].extract_text()
    png = client.get(f"/personas/{d['slug']}/download/png")
    assert png.headers["content-type"] == "image/png"
    assert Image.open(BytesIO(png.content)).size == (909, 1286)
    assert client.get(f"/personas/{d['slug']}/download/exe").status_code == 404
    assert client.get("/personas/no-such-persona").status_code == 404


def test_compare_two_personas(as_user: Callable[[str], TestClient], demo: Demo) -> None:
    docs, _ = _db(demo)
    a, b = docs[0], docs[1]
    client = as_user("vic")
    page = client.get("/compare", params=[("p", a["slug"]), ("p", b["slug"])])
    assert page.status_code == 200
    table = page.text.split('<table class="compare">', 1)[1]
    for d in (a, b):
        assert f'href="/personas/{d["slug"]}"' in table
    one = client.get("/compare", params=[("p", a["slug"]), ("p", a["slug"])])
    assert "Choose at least two different personas" in one.text
    api = client.get("/api/v1/compare", params=[("slug", b["slug"]), ("slug", a["slug"])])
    assert [d["slug"] for d in api.json()] == [b["slug"], a["slug"]]
    assert client.get("/api/v1/compare", params=[("slug", a["slug"])]).status_code == 422


def test_segments_explorer_sizes(as_user: Callable[[str], TestClient], demo: Demo) -> None:
    _, segs = _db(demo)
    client = as_user("vic")
    api = client.get("/api/v1/segments").json()
    assert {(s["segment_id"], s["size"]) for s in api["segments"]} == set(segs)
    for rows in api["distributions"].values():  # small cells are suppressed
        assert all(r["count"] is None or r["count"] >= 5 for r in rows)
    page = client.get("/segments")
    assert page.status_code == 200
    assert f"{sum(n for _, n in segs):,} customers" in page.text


def test_customer_360_escapes_the_ticket(as_user: Callable[[str], TestClient], demo: Demo) -> None:
    client = as_user("alan")
    page = client.get(f"/customers/support_tickets:{XSS_TICKET}")
    assert page.status_code == 200
    assert XSS_TICKET in page.text
    assert _shown(page.text, XSS_SUBJECT)
    assert _shown(page.text, XSS_BODY)
    _no_injected_elements(page.text)
    api = client.get(f"/api/v1/customers/support_tickets:{XSS_TICKET}").json()
    tickets = api["source_records"]["support_tickets"]
    assert {"subject": XSS_SUBJECT, "body": XSS_BODY}.items() <= next(
        t for t in tickets if t["ticket_id"] == XSS_TICKET
    ).items()
    assert api["golden_record"]["email"] == demo.xss_email
    by_email = client.get(
        "/customers", params={"q": demo.xss_email.upper()}, follow_redirects=False
    )
    assert by_email.headers["location"] == f"/customers/{api['person_id']}"
    assert client.get("/customers/nobody-at-all").status_code == 404


def test_security_headers_on_pages_api_errors_and_static(
    as_user: Callable[[str], TestClient], site: TestClient
) -> None:
    client = as_user("vic")
    for response in (
        client.get("/"),
        client.get("/api/v1/personas"),
        client.get("/no/such/page"),
        site.get("/api/v1/personas"),  # 401
        site.get("/login"),
        site.get("/static/web.css"),
    ):
        h = response.headers
        assert h["content-security-policy"] == CSP
        assert "unsafe-inline" not in CSP and "frame-ancestors 'none'" in CSP
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "same-origin"
    assert client.get("/").headers["cache-control"] == "no-store"


def test_pages_have_no_inline_script_or_style(
    as_user: Callable[[str], TestClient], demo: Demo
) -> None:
    docs, _ = _db(demo)
    client = as_user("ada")
    for path in (
        "/",
        f"/personas/{docs[0]['slug']}",
        "/segments",
        "/compare",
        "/admin/users",
        f"/customers/support_tickets:{XSS_TICKET}",
    ):
        text = client.get(path).text
        assert "<script>" not in text and " style=" not in text and "onclick" not in text, path


def test_one_error_shape_for_404_422_and_500(
    as_user: Callable[[str], TestClient], demo: Demo
) -> None:
    client = as_user("vic")
    for path, status in (
        ("/api/v1/nope", 404),
        ("/api/v1/personas/BAD%20SLUG", 422),
        ("/api/v1/search", 422),
    ):
        r = client.get(path)
        assert r.status_code == status
        assert set(r.json()["error"]) == {"status", "code", "message", "details"}
    app = create_site(demo.workspace)
    with TestClient(app, raise_server_exceptions=False) as broken:
        login(broken, "vic")

        def fail() -> None:
            raise RuntimeError("boom")

        app.app.state.data.snapshot = fail  # type: ignore[attr-defined]
        r = broken.get("/api/v1/personas")
        assert r.status_code == 500
        assert r.json() == {
            "error": {
                "status": 500,
                "code": "internal_error",
                "message": "internal server error",
                "details": [],
            }
        }
        assert "boom" not in r.text
        assert r.headers["content-security-policy"] == CSP


def test_persona_markup_is_shown_as_text_everywhere(hostile: Path) -> None:
    with TestClient(create_site(hostile)) as client:
        login(client, "vic")
        for path in ("/", "/personas/evil", "/compare?p=evil&p=other", "/search?q=script"):
            page = client.get(path)
            assert page.status_code == 200, path
            _no_injected_elements(page.text)
            assert _shown(page.text, "<script>alert(1)</script>"), path
        card = client.get("/personas/evil").text
        assert _shown(card, "Goals") and _shown(card, "a field this app does not know")
        assert _shown(card, '"><img src=x onerror=alert(2)>')


def test_the_audience_builder_counts_a_rule_for_analysts_only(
    as_user: Callable[[str], TestClient], demo: Demo
) -> None:
    import duckdb

    con = duckdb.connect(str(demo.workspace / "personify.duckdb"), read_only=True)
    try:
        expected = con.execute(
            "SELECT count(*) FROM profiles WHERE frequency > 2 AND store_share < 0.5"
        ).fetchall()[0][0]
        total = con.execute("SELECT count(*) FROM profiles").fetchall()[0][0]
    finally:
        con.close()
    analyst = as_user("alan")
    rule = "frequency > 2 and store_share < 0.5"
    api = analyst.get("/api/v1/audiences/count", params={"rule": rule}).json()
    assert (api["persons"], api["total"]) == (expected, total)
    page = analyst.get("/audiences", params={"rule": rule})
    assert page.status_code == 200 and f"{expected:,}</strong> of {total:,}" in page.text
    # an unknown attribute: a 422 with its position, the same error shape as every error
    bad = analyst.get("/api/v1/audiences/count", params={"rule": "frequncy > 2"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["position"] == 1  # 1-based: the first character
    shown = analyst.get("/audiences", params={"rule": "frequncy > 2"})
    assert shown.status_code == 422 and "Position 1" in shown.text
    # SQL in a value is a value: no one is called that, nothing breaks
    injected = 'gender == "x\'; DROP TABLE profiles; --"'
    assert analyst.get("/api/v1/audiences/count", params={"rule": injected}).json()["persons"] == 0
    viewer = as_user("vic")
    assert viewer.get("/api/v1/audiences/count", params={"rule": rule}).status_code == 403
    assert viewer.get("/audiences", params={"rule": rule}).status_code == 403
