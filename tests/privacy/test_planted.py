"""Planted personal details: one in every text a card could quote, none in any output.

A small demo company's support tickets, reviews and survey answers each get one personal
detail appended, in turn: the writer's own full name as a sign-off, "First from Town", a
lower-case sign-off, a street address, a birth date, a national insurance number, an
SSN-like id, a phone number, an e-mail address and a card number. The whole pipeline runs,
and then every stored display text (``voice_texts``), every persona document, every file
under output/ and every export (PDF text read back with pypdf, PNG aside: it holds the same
text as the PDF) is searched for each planted value. None may survive.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from personify import Workspace
from personify.cli import DEMO_LOCALE, demo_sources
from personify.demo import generate_demo_company

CUSTOMERS = 600
STREETS = ["Baker Street", "Church Lane", "Mill Road", "Station Road", "Victoria Avenue"]


def _detail(i: int, first: str, last: str, city: str) -> tuple[str, str, list[str]]:
    """(kind, text to append, values that must not survive) for the i-th text."""
    n = 10 + i
    forms = [
        ("full name sign-off", f"Regards, {first} {last}", [f"{first} {last}"]),
        ("name from town", f"{first} from {city}", [f"{first} from {city}"]),
        ("lower-case sign-off", f"thanks, {first.lower()}", [f"thanks, {first.lower()}"]),
        (
            "street address",
            f"Please send it to {n} {STREETS[i % 5]}, {city}.",
            [f"{n} {STREETS[i % 5]}"],
        ),
        ("birth date", f"My date of birth is {1 + i % 28:02d}/0{1 + i % 9}/19{50 + i % 49}.", []),
        ("national insurance number", f"My NI number is QQ{123000 + i:06d}C.", []),
        ("SSN-like id", f"SSN {100 + i % 800:03d}-45-{1000 + i:04d}.", []),
        ("phone", f"Call me on 07700 9{i % 100000:05d}.", []),
        ("e-mail", f"Write to {first.lower()}.{last.lower()}{n}@example.com", []),
        ("card number", f"My card is 4111 1111 1111 {1000 + i % 9000:04d}.", []),
    ]
    kind, text, values = forms[i % len(forms)]
    if not values:  # the whole planted value after its lead-in
        values = [text.split(" is ", 1)[-1].removeprefix("SSN ").rstrip(".")]
        if kind == "phone":
            values = [text.removeprefix("Call me on ").rstrip(".")]
        if kind == "e-mail":
            values = [text.removeprefix("Write to ")]
    return kind, text, values


def _plant(sources: Path) -> dict[str, tuple[str, list[str]]]:
    """Append a detail to every text; return planted text id -> (kind, values)."""
    with open(sources / "crm_customers.csv", encoding="utf-8", newline="") as f:
        people = list(csv.DictReader(f))
    by_email = {p["email"]: p for p in people if p["email"]}
    planted: dict[str, tuple[str, list[str]]] = {}
    counter = 0
    for file, column, who in (
        ("support_tickets.csv", "body", "email"),
        ("reviews.csv", "body", None),
        ("survey_responses.csv", "open_answer", "email"),
    ):
        path = sources / file
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
            fields = list(rows[0])
        for j, row in enumerate(rows):
            if not row[column]:
                continue
            person = by_email.get(row.get(who or "", "")) or people[j % len(people)]
            if not (person["first_name"] and person["last_name"] and person["city"]):
                person = next(p for p in people if p["first_name"] and p["last_name"] and p["city"])
            kind, text, values = _detail(
                counter, person["first_name"], person["last_name"], person["city"]
            )
            row[column] = f"{row[column].rstrip()} {text}"
            planted[f"{file}:{j}"] = (kind, values)
            counter += 1
        with open(path, "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields, quoting=csv.QUOTE_NONNUMERIC)
            writer.writeheader()
            writer.writerows(rows)
    return planted


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("planted")
    generate_demo_company(root / "data", customers=CUSTOMERS, seed=23)
    planted = _plant(root / "data" / "sources")
    ws = Workspace.init(
        root / "ws", sources=demo_sources(str(root / "data" / "sources")), locale=DEMO_LOCALE
    )
    results = ws.run()
    yield ws, results, planted
    ws.close()


def _outputs(ws: Workspace) -> dict[str, str]:
    from personify.personas import export

    texts = {
        str(p.relative_to(ws.output_dir)): p.read_text(encoding="utf-8")
        for p in sorted(ws.output_dir.rglob("*"))
        if p.is_file() and p.suffix in (".json", ".md", ".svg", ".html")
    }
    texts["voice_texts"] = "\n".join(
        ws.engine.fetch_df("SELECT text FROM voice_texts WHERE text IS NOT NULL")["text"]
    )
    texts["voice_themes"] = "\n".join(
        ws.engine.fetch_df("SELECT label || ' ' || CAST(terms AS VARCHAR) AS t FROM voice_themes")[
            "t"
        ].astype(str)
    )
    texts["personas table"] = "\n".join(
        str(d) for d in ws.engine.fetch_df("SELECT document FROM personas")["document"]
    )
    texts["export.csv"] = export.to_csv(ws).decode("utf-8")
    texts["export.json"] = export.to_json(ws).decode("utf-8")
    texts["export.md"] = export.to_markdown(ws).decode("utf-8")
    reader = PdfReader(io.BytesIO(export.to_pdf(ws)))
    texts["export.pdf"] = "\n".join(" ".join(page.extract_text().split()) for page in reader.pages)
    return texts


def test_every_text_was_planted_and_reached_the_cards(planted_run) -> None:
    ws, results, planted = planted_run
    kinds = {kind for kind, _ in planted.values()}
    assert len(kinds) == 10 and len(planted) > 150
    quotes = [q for p in results["personas"].personas for q in p["quotes"]]
    assert len(quotes) >= 2 * len(results["personas"].personas)
    # The stored texts are the planted ones (each carries a placeholder where its detail was).
    stored = ws.engine.fetch_df("SELECT text FROM voice_texts")["text"]
    assert stored.str.contains(r"\[(?:name|email|phone|number|address|date)\]").mean() > 0.9


def test_no_planted_detail_survives_in_any_card_export_or_stored_text(planted_run) -> None:
    ws, _, planted = planted_run
    texts = _outputs(ws)
    leaks: dict[str, list[str]] = {}
    for kind, values in planted.values():
        for value in values:
            where = [name for name, text in texts.items() if value in text]
            if where:
                leaks.setdefault(kind, []).append(f"{value!r} in {', '.join(where[:3])}")
    summary = {kind: (len(v), v[:2]) for kind, v in leaks.items()}
    assert not leaks, json.dumps(summary, indent=1)
