"""Exports of one hand-made persona document: the card's text comes through as written.

Customer text is untrusted: a quote with '$' (Matplotlib math), Rich markup or a
spreadsheet formula must come out literally in the PDF, the terminal card and the CSV."""

from __future__ import annotations

import copy
import csv
import io

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
