"""The persona sets in docs/examples/ (written by examples/persona_sets.py) are current:
every document follows today's schema, the files a reader opens are there and readable,
and every reader-plausibility check in their README passed."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from tests.personas.test_schema import validate

EXAMPLES = Path(__file__).parent.parent.parent / "docs" / "examples"


@pytest.mark.parametrize("name", ["cdnow", "telco", "demo"])
def test_example_persona_set_is_current_and_readable(name: str) -> None:
    folder = EXAMPLES / name
    body = json.loads((folder / "personas.json").read_text(encoding="utf-8"))
    docs = body["personas"]
    assert body["schema"] == "personify.persona-set/v1" and len(docs) >= 3
    for doc in docs:
        validate(doc)
        with Image.open(folder / "cards" / f"{doc['slug']}.png") as image:
            assert image.size == (661, 935)  # A4 at 80 dpi
    pages = PdfReader(folder / "personas.pdf").pages
    assert len(pages) == len(docs) and all(
        d["name"] in p.extract_text() for d, p in zip(docs, pages, strict=True)
    )
    for page in pages:  # A4: 210 x 297 mm = 595.3 x 841.9 points
        assert float(page.mediabox.width) == pytest.approx(595.3, abs=1)
        assert float(page.mediabox.height) == pytest.approx(841.9, abs=1)
    html = (folder / "personas.html").read_text(encoding="utf-8")
    assert html.count('<article class="page') == len(docs)
    assert "<script" not in html and "http://" not in html.replace(
        "http://www.w3.org/", ""
    ) and "https://" not in html  # fmt: skip
    rows = list(csv.DictReader(io.StringIO((folder / "personas.csv").read_text(encoding="utf-8"))))
    assert [r["persona_id"] for r in rows] == [d["persona_id"] for d in docs]
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "## What the data could not support" in readme
    assert "| yes |" in readme and "| NO |" not in readme
