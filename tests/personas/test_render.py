"""Tests for personify.personas.render: files, escaping, ordering, determinism, offline HTML."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from personify.personas.render import (
    RenderedOutputs,
    avatar_svg,
    format_value,
    md_escape,
    write_outputs,
)

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(document.cookie)>"
SUMMARY: dict[str, Any] = {
    "customers": 20000,
    "persons": 23840,
    "revenue": 1034567.8,
    "generated_at": "2026-11-22T10:45:00+00:00",
    "segment_run": "seg-20261122104500",
    "k": 3,
    "silhouette": 0.412,
}
ALLOWED_URLS = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


def make_persona(
    segment_id: int, name: str, title: str, *, negative: bool = False, quote: str = "Great app."
) -> dict[str, Any]:
    slug = f"{name}-{title}".lower().replace(" ", "-")
    return {
        "schema": "personify.persona/v1",
        "persona_id": f"seg-20261122-{segment_id}",
        "segment_run": "seg-20261122104500",
        "segment_id": segment_id,
        "slug": slug,
        "name": name,
        "title": title,
        "description": f"About 4,210 customers who are {title.lower()}.",
        "negative": negative,
        "negative_reasons": ["Acquisition cost exceeds revenue"] if negative else [],
        "size": {"customers": 4210, "share": 0.21},
        "value": {
            "revenue": 123456.7,
            "revenue_share": 0.12,
            "avg_revenue": 29.3,
            "avg_orders": 5.1,
            "avg_order_value": 23.4,
            "acquisition_cost": 12.3,
            "rank": 2,
        },
        "demographics": {
            "age": {"median": 24, "p25": 21, "p75": 27},
            "gender": [{"value": "female", "share": 0.61}, {"value": "male", "share": 0.37}],
            "income_band": [{"value": "£20k-£35k", "share": 0.45}],
            "city": [{"value": "Manchester", "share": 0.12}],
        },
        "traits": [
            {
                "feature": "app_share",
                "label": "Purchases made in the app",
                "segment": 0.62,
                "population": 0.21,
                "z": 1.8,
                "format": "percent",
                "text": "Buys in the app far more than average (62% vs 21%)",
            }
        ],
        "channels": [{"channel": "app", "share": 0.62}, {"channel": "web", "share": 0.38}],
        "categories": [{"category": "fashion", "share": 0.41, "index": 2.1}],
        "acquisition": [{"channel": "paid_social", "share": 0.5}],
        "themes": [{"term": "app", "score": 0.12}, {"term": "return label", "score": 0.08}],
        "quotes": [{"text": quote, "source": "support_tickets", "date": "2025-03-01"}],
        "evidence": {"demographics": "golden_record of 4,210 members"},
    }


@pytest.fixture
def personas() -> list[dict[str, Any]]:
    # The negative persona comes first in the input on purpose: output must move it last.
    return [
        make_persona(5, "Colin", "The Serial Returner", negative=True),
        make_persona(3, "Maya", "The App-First Trend Seeker"),
        make_persona(1, "Graham", "The Loyal Big Spender"),
    ]


@pytest.fixture
def hostile() -> list[dict[str, Any]]:
    doc = make_persona(2, "Eve", "The Tester", quote=f"Hi {SCRIPT} {IMG} *x* [a](b) `c` | d")
    doc["themes"].append({"term": SCRIPT, "score": 0.01})
    doc["categories"][0]["category"] = IMG
    doc["traits"][0]["label"] = "app | web <b>"
    doc["description"] = f"# Heading {IMG} https://evil.example/x.png"
    return [doc]


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_files_written_for_every_persona(tmp_path: Path, personas: list[dict[str, Any]]) -> None:
    out = write_outputs(personas, tmp_path, summary=SUMMARY)
    assert isinstance(out, RenderedOutputs)
    slugs = [p["slug"] for p in personas]
    assert out.json_files == [tmp_path / "personas" / f"{s}.json" for s in slugs]
    assert out.markdown_files == [tmp_path / "personas" / f"{s}.md" for s in slugs]
    assert out.avatar_files == [tmp_path / "personas" / f"{s}.svg" for s in slugs]
    assert out.report == tmp_path / "report.html"
    for path in [*out.json_files, *out.markdown_files, *out.avatar_files, out.report]:
        assert path.is_file() and path.stat().st_size > 0
    for doc, md in zip(personas, out.markdown_files, strict=True):
        text = read(md)
        assert f"# {doc['name']} — " in text
        assert f"]({doc['slug']}.svg)" in text  # the card shows its avatar


def test_json_round_trips(tmp_path: Path, personas: list[dict[str, Any]]) -> None:
    expected = copy.deepcopy(personas)
    out = write_outputs(personas, tmp_path, summary=SUMMARY)
    for doc, path in zip(expected, out.json_files, strict=True):
        assert json.loads(read(path)) == doc
        text = read(path)
        assert text == json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert personas == expected  # the input is not mutated


def test_untrusted_text_is_escaped_in_html(tmp_path: Path, hostile: list[dict[str, Any]]) -> None:
    html = read(write_outputs(hostile, tmp_path, summary=SUMMARY).report)
    assert "<script" not in html.lower()  # neither from the data nor from the report itself
    assert "<img" not in html.lower()
    assert "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(document.cookie)&gt;" in html


def test_untrusted_text_is_escaped_in_markdown(
    tmp_path: Path, hostile: list[dict[str, Any]]
) -> None:
    md = read(write_outputs(hostile, tmp_path, summary=SUMMARY).markdown_files[0])
    assert "<script" not in md.lower() and "<img" not in md.lower() and "<b>" not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert r"\*x\* \[a\](b) \`c\` \| d" in md
    assert "\n# Heading" not in md and r"\# Heading" in md
    # A '|' in a trait label must not add a column to the traits table.
    row = next(line for line in md.splitlines() if "app" in line and "web" in line)
    assert len(re.findall(r"(?<!\\)\|", row)) == 5


def test_report_has_names_chart_and_summary(tmp_path: Path, personas: list[dict[str, Any]]) -> None:
    html = read(write_outputs(personas, tmp_path, summary=SUMMARY, currency="GBP").report)
    for doc in personas:
        assert doc["name"] in html and doc["title"] in html
    assert "<svg" in html and 'id="segment-chart"' in html
    assert html.count('<article class="card') == len(personas)
    assert "20,000" in html and "£1,034,568" in html and "seg-20261122104500" in html
    assert "@media print" in html and "break-before: page" in html


def test_negative_personas_come_last_and_are_marked(
    tmp_path: Path, personas: list[dict[str, Any]]
) -> None:
    out = write_outputs(personas, tmp_path, summary=SUMMARY)
    html = read(out.report)
    articles = re.findall(r'<article class="card( negative)?" id="persona-([a-z0-9-]+)"', html)
    assert [slug for _, slug in articles] == [
        "maya-the-app-first-trend-seeker",
        "graham-the-loyal-big-spender",
        "colin-the-serial-returner",
    ]
    assert [bool(neg) for neg, _ in articles] == [False, False, True]
    colin_card = html[html.index('id="persona-colin') :]
    assert "Negative persona" in colin_card and "Acquisition cost exceeds revenue" in colin_card
    assert "Colin (negative)" in html  # the chart label
    assert "Negative persona" in read(out.markdown_files[0])
    assert "Negative persona" not in read(out.markdown_files[1])


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_output_is_byte_identical_across_runs(
    tmp_path: Path, personas: list[dict[str, Any]]
) -> None:
    write_outputs(personas, tmp_path / "a", summary=SUMMARY)
    write_outputs(personas, tmp_path / "b", summary=SUMMARY)
    # A fresh interpreter with a different hash seed must produce the same bytes too.
    (tmp_path / "in.json").write_text(json.dumps(personas), encoding="utf-8")
    code = (
        "import json, sys; from pathlib import Path;"
        "from personify.personas.render import write_outputs;"
        "docs = json.loads(Path(sys.argv[1]).read_text(encoding='utf-8'));"
        "write_outputs(docs, Path(sys.argv[2]), summary=json.loads(sys.argv[3]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    args = [sys.executable, "-c", code, str(tmp_path / "in.json"), str(tmp_path / "c")]
    subprocess.run([*args, json.dumps(SUMMARY)], check=True, env=env)
    a = _snapshot(tmp_path / "a")
    # report.html and cards.html, and json, md, svg and html per persona
    assert len(a) == 2 + 4 * len(personas)
    assert a == _snapshot(tmp_path / "b")
    assert a == _snapshot(tmp_path / "c")


def test_report_is_self_contained(tmp_path: Path, personas: list[dict[str, Any]]) -> None:
    html = read(write_outputs(personas, tmp_path, summary=SUMMARY).report)
    assert set(re.findall(r"https?://[^\s\"'<>)]+", html)) <= ALLOWED_URLS
    assert not re.search(r"<(script|link|iframe|object|embed|img)\b", html, re.IGNORECASE)
    assert "@import" not in html and "url(http" not in html and "@font-face" not in html


def test_urls_from_data_never_become_links(tmp_path: Path, hostile: list[dict[str, Any]]) -> None:
    html = read(write_outputs(hostile, tmp_path, summary=SUMMARY).report)
    assert "https://evil.example/x.png" in html  # shown as text ...

    refs: list[str] = []

    class Refs(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            refs.extend(v or "" for k, v in attrs if k in {"src", "href", "xlink:href"})

    Refs().feed(html)
    assert refs and all(ref.startswith("#") for ref in refs)  # ... no real links


def test_missing_optional_keys_and_unsafe_slug(tmp_path: Path) -> None:
    minimal: list[dict[str, Any]] = [
        {"slug": "../../Evil Slug", "name": "Min"},
        {"name": "No Slug", "negative": True},
    ]
    out = write_outputs(minimal, tmp_path, summary={})
    assert [p.name for p in out.json_files] == ["evil-slug.json", "no-slug.json"]
    assert all(p.parent == tmp_path / "personas" for p in out.json_files)
    html = read(out.report)
    assert "Min" in html and "No Slug" in html and "—" in html


def test_non_finite_numbers_become_null_and_dashes(tmp_path: Path) -> None:
    doc = make_persona(1, "Nil", "The Unknown")
    doc["value"]["avg_order_value"] = float("nan")
    doc["demographics"]["age"] = None
    out = write_outputs([doc], tmp_path, summary={**SUMMARY, "silhouette": float("nan")})
    written = json.loads(read(out.json_files[0]), parse_constant=pytest.fail)  # strict JSON
    assert written["value"]["avg_order_value"] is None
    assert "NaN" not in read(out.report) and "nan" not in read(out.markdown_files[0])


def test_duplicate_slugs_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="duplicate persona slugs"):
        write_outputs([{"slug": "a"}, {"slug": "A"}], tmp_path, summary=SUMMARY)


def test_no_personas_still_writes_a_report(tmp_path: Path) -> None:
    out = write_outputs([], tmp_path, summary=SUMMARY)
    html = read(out.report)
    assert out.json_files == [] and "No personas were generated." in html
    assert 'id="segment-chart"' not in html


def test_avatar_is_deterministic_well_formed_and_varies() -> None:
    svg = avatar_svg("maya-the-app-first-trend-seeker", size=64)
    assert svg == avatar_svg("maya-the-app-first-trend-seeker", size=64)
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("width") == root.get("height") == "64"
    assert "<text" not in svg and "<title" not in svg
    # Safe to inline many times: every id is prefixed per avatar, none is shared.
    other = avatar_svg("rachel-the-occasional-bedding-buyer", size=64)
    ids = set(re.findall(r' id="([^"]+)"', svg))
    assert ids and not ids & set(re.findall(r' id="([^"]+)"', other))
    assert set(re.findall(r"url\(#([^)]+)\)", svg)) <= ids
    assert len({avatar_svg(f"persona-{i}") for i in range(10)}) == 10


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [
        (0.62, "percent", "62%"),
        (0.045, "percent", "4.5%"),
        (1234.4, "currency", "£1,234"),
        (23.4, "currency", "£23.40"),
        (4210.0, "count", "4,210"),
        (1.0, "days", "1 day"),
        (12.3, "days", "12 days"),
        (2.5, "years", "2.5 years"),
        (24.4, "years", "24 years"),
        (1.8, "number", "1.8"),
        (None, "percent", "—"),
        (float("nan"), "currency", "—"),
    ],
)
def test_format_value(value: Any, fmt: str, expected: str) -> None:
    assert format_value(value, fmt, currency="GBP") == expected


@pytest.mark.parametrize(
    ("currency", "language", "big", "small"),
    [
        ("EUR", "de", "1.234\xa0€", "23,40\xa0€"),  # CLDR: German puts the sign after
        ("USD", "en", "$1,234", "$23.40"),
        (None, "en", "1,234", "23.40"),  # no currency configured: plain numbers
    ],
)
def test_money_follows_the_locale(
    currency: str | None, language: str, big: str, small: str
) -> None:
    assert format_value(1234.4, "currency", currency=currency, language=language) == big
    assert format_value(23.4, "currency", currency=currency, language=language) == small


def test_report_and_cards_show_the_configured_currency(
    tmp_path: Path, personas: list[dict[str, Any]]
) -> None:
    out = write_outputs(personas, tmp_path, summary=SUMMARY, currency="EUR", language="de")
    html = read(out.report)
    assert "1.034.568\xa0€" in html and "EUR, all segmented customers" in html
    assert "£" not in html.replace("£20k-£35k", "")  # the income band is data, not money
    md = read(out.markdown_files[0])
    assert "| 29,30 € |" in md  # avg revenue 29.3 (Markdown cells collapse the no-break space)
    plain = write_outputs(personas, tmp_path / "plain", summary=SUMMARY)
    html = read(plain.report)
    assert "1,034,568" in html and "all segmented customers" in html
    assert "£" not in html.replace("£20k-£35k", "") and "GBP" not in html


@given(st.text())
def test_md_escape_never_leaves_markup(text: str) -> None:
    escaped = md_escape(text)
    assert "<" not in escaped and ">" not in escaped and "\n" not in escaped
    # Every Markdown metacharacter is preceded by an odd number of backslashes.
    for match in re.finditer(r"[`*_\[\]|~]", escaped):
        run = len(escaped[: match.start()]) - len(escaped[: match.start()].rstrip("\\"))
        assert run % 2 == 1, (text, escaped)
