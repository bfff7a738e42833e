"""Exports of one hand-made persona document: the card's text comes through as written.

Customer text is untrusted: a quote with '$' (Matplotlib math), Rich markup or a
spreadsheet formula must come out literally in the PDF, the terminal card and the CSV."""

from __future__ import annotations

import copy
import csv
import io

import pytest
from pypdf import PdfReader
from rich.console import Console
from tests.personas.test_schema import MINIMAL, STATEMENT, validate

from personify._cli_personas import card
from personify.formatting import number_format
from personify.personas.export import csv_bytes, pdf_bytes

QUOTE = "Paid $5 then $10 [bold red]twice[/] [link=http://x.test]here[/link]"


def _doc() -> dict:
    doc = copy.deepcopy(MINIMAL)
    doc["quotes"] = [{"text": QUOTE, "source": "reviews", "date": "2024-05-01", "tone": "negative"}]
    doc["goals"] = {"statements": [STATEMENT], "note": None}
    doc["title"] = '=HYPERLINK("http://x.test")'
    doc["value"]["currency"] = "EUR"
    validate(doc)
    return doc


def test_the_pdf_draws_customer_text_as_written() -> None:
    pdf = pdf_bytes([_doc()], number_format("EUR", "de"))
    text = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    assert "Paid $5 then $10 [bold red]twice[/]" in text
    assert "Agrees more than others that 'price matters most'" in text
    assert "Not in the data" in text  # the empty fields say so


def test_the_terminal_card_prints_markup_literally() -> None:
    console = Console(width=200, record=True, color_system=None)
    console.print(card(_doc(), number_format("EUR", "de")))
    out = console.export_text()
    assert "[bold red]twice[/]" in out and "[link=http://x.test]here[/link]" in out
    assert "Not in the data" in out


def test_csv_cells_cannot_become_formulas() -> None:
    [row] = list(csv.DictReader(io.StringIO(csv_bytes([_doc()]).decode("utf-8"))))
    assert row["title"] == '\'=HYPERLINK("http://x.test")'
    assert row["goals"] == STATEMENT["text"] and row["name"] == "Ana"


def _full_doc() -> dict:
    """The hand-made card with traits and a journey, so every chart is drawn."""
    doc = _doc()
    doc["traits"] = [
        {"feature": "avg_order_value", "label": "Average basket", "format": "currency",
         "segment": 750.0, "population": 253.0, "z": 1.2, "text": "Fills large baskets"},
        {"feature": "store_share", "label": "Store purchases", "format": "percent",
         "segment": 0.08, "population": 0.26, "z": -0.6, "text": "Rarely in a store"},
    ]  # fmt: skip
    stage = {
        "meaning": "m", "conversion": None, "conversion_of": None, "drop_off": None,
        "median": None, "median_of": None, "channels": [], "touchpoints": [], "pains": [],
        "lost": None, "note": None,
    }  # fmt: skip
    doc["journey"] = {
        "members": 60,
        "note": None,
        "stages": [
            {**stage, "stage": "awareness", "persons": 60, "share": 1.0},
            {**stage, "stage": "purchase", "persons": 45, "share": 0.75, "conversion": 0.75,
             "conversion_of": "members", "drop_off": 0.25},
            {**stage, "stage": "retention", "persons": 30, "share": 0.5, "conversion": 0.6667,
             "conversion_of": "buyers", "drop_off": 0.3333, "median": 41.0,
             "median_of": "days between purchases"},
        ],
    }  # fmt: skip
    validate(doc)
    return doc


def test_the_html_card_is_self_contained_with_charts_and_escaped_text() -> None:
    from personify.personas.export import html_bytes

    html = html_bytes([_full_doc()], number_format("EUR", "de")).decode()
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert "default-src 'none'" in html  # the page's CSP forbids any request
    for chart in ("distinguishing attributes", "journey funnel", "value against the company"):
        assert f'aria-label="{chart}"' in html
    assert "[bold red]twice[/]" in html and "<bold" not in html
    assert '=HYPERLINK("http://x.test")' not in html  # escaped: &#34; for the quotes
    assert "=HYPERLINK(&#34;http://x.test&#34;)" in html
    assert "Ziele und Motive" in html  # the labels in the workspace's language (de)
    assert "@page { size: A4; margin: 0; }" in html


def test_pdf_pages_are_a4_or_letter_and_the_png_is_the_page() -> None:
    from PIL import Image

    from personify.personas.export import pdf_bytes, png_bytes

    numbers = number_format("EUR", "de")
    for page, (width, height) in (("A4", (595.3, 841.9)), ("Letter", (612, 792))):
        reader = PdfReader(io.BytesIO(pdf_bytes([_full_doc(), _full_doc()], numbers, page=page)))
        assert len(reader.pages) == 2  # one page per persona
        for p in reader.pages:
            assert float(p.mediabox.width) == pytest.approx(width, abs=1)
            assert float(p.mediabox.height) == pytest.approx(height, abs=1)
        text = " ".join(reader.pages[0].extract_text().split())
        assert "Ana" in text and "ZIELE UND MOTIVE" in text.upper()
    # Letter at 100 dpi: 8.5 x 11 inches = 850 x 1100 pixels.
    image = Image.open(io.BytesIO(png_bytes(_full_doc(), numbers, dpi=100, page="Letter")))
    assert image.format == "PNG" and image.size == (850, 1100)
    assert len(image.convert("RGB").getcolors(maxcolors=1_000_000) or []) > 50


def test_without_a_browser_the_pdf_says_how_to_install_one(monkeypatch) -> None:
    from personify.personas import browser
    from personify.personas.export import pdf_bytes

    monkeypatch.delenv("PERSONIFY_CHROMIUM", raising=False)
    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    with pytest.raises(browser.BrowserMissing, match="apt-get install chromium"):
        pdf_bytes([_full_doc()], number_format("EUR", "de"))
