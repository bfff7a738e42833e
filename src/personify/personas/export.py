"""Persona exports: the card as self-contained HTML, printed from it to PDF and PNG; CSV, JSON,
Markdown.

The card is rendered once, as HTML (:mod:`personify.personas.cardpage`: inline CSS, avatar
and SVG charts, no requests, customer text escaped), and headless Chromium prints that page
to PDF (one A4 or Letter page per persona, text kept as text) and photographs it to PNG
(:mod:`personify.personas.browser`, which says why Chromium and how to install it). So the
HTML, the PDF and the PNG show the same card. Every value comes from the stored persona
documents (the ``personas`` table of the latest segment run), so an export shows the same
figures as the JSON.

Signatures (the web app offers these as downloads):

- ``to_html(ws, persona_id=None, *, page="A4") -> bytes``: the card(s), one printed page each
- ``to_pdf(ws, persona_id=None, *, page="A4") -> bytes``: one page per persona (all when ``None``)
- ``to_png(ws, persona_id, *, dpi=110, page="A4") -> bytes``: the card of one persona
- ``to_csv(ws) -> bytes``: all personas, one row each (UTF-8 with a header)
- ``to_json(ws, persona_id=None) -> bytes``: one document, or the set when ``None``
- ``to_markdown(ws, persona_id=None) -> bytes``: the Markdown card(s)

``persona_id`` may also be a slug or a persona's name (case-insensitive); ``page`` is ``A4``
or ``Letter``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import TYPE_CHECKING, Any

from personify.errors import WorkspaceError
from personify.formatting import DASH, NumberFormat, number_format

if TYPE_CHECKING:
    from personify.workspace import Workspace

__all__ = [
    "find_persona",
    "html_bytes",
    "load_personas",
    "pdf_bytes",
    "png_bytes",
    "to_csv",
    "to_html",
    "to_json",
    "to_markdown",
    "to_pdf",
    "to_png",
]


# ----------------------------------------------------------------------------- documents
def load_personas(ws: Workspace) -> list[dict[str, Any]]:
    """The persona documents of the latest segment run, primary ones first."""
    engine = ws.engine
    if not engine.has_table("personas"):
        raise WorkspaceError("the workspace has no personas yet: run `personify personas`")
    run = ws.segments.latest_run()["run_id"]
    rows = engine.fetch_df(
        "SELECT document FROM personas WHERE segment_run = ? ORDER BY negative, segment_id",
        [run],
    )
    if rows.empty:
        raise WorkspaceError(
            f"no personas for the latest segment run {run}: run `personify personas`"
        )
    return [json.loads(d) if isinstance(d, str) else d for d in rows["document"]]


def find_persona(ws: Workspace, key: str) -> dict[str, Any]:
    """A persona by id, slug or name (case-insensitive)."""
    wanted = key.strip().lower()
    docs = load_personas(ws)
    for field in ("persona_id", "slug", "name"):
        hits = [d for d in docs if str(d.get(field, "")).lower() == wanted]
        if hits:
            return hits[0]
    known = ", ".join(f"{d['name']} ({d['persona_id']})" for d in docs)
    raise WorkspaceError(f"no persona {key!r}; the personas are: {known}")


def _selected(ws: Workspace, persona_id: str | None) -> list[dict[str, Any]]:
    return load_personas(ws) if persona_id is None else [find_persona(ws, persona_id)]


def _numbers(ws: Workspace) -> NumberFormat:
    locale = ws.config.locale
    return number_format(locale.currency, locale.language)


def _shares(items: list[dict[str, Any]], n: int = 3, key: str = "value") -> str:
    parts = [f"{i[key]} {i['share'] * 100:.0f}%" for i in items[:n] if i.get("share") is not None]
    return " · ".join(parts) or DASH


def _statements(doc: dict[str, Any], field: str) -> tuple[list[dict[str, Any]], str | None]:
    value = doc.get(field) or {}
    return list(value.get("statements") or []), value.get("note")


# ----------------------------------------------------------------------------- the card
def _locale(numbers: NumberFormat) -> tuple[str | None, str]:
    return numbers.currency, str(numbers.locale)


def html_bytes(
    docs: list[dict[str, Any]], numbers: NumberFormat, *, page: str = "A4", bare: bool = False
) -> bytes:
    """The cards of ``docs`` as one self-contained HTML page (one printed page each)."""
    from personify.personas.cardpage import card_html

    currency, language = _locale(numbers)
    return card_html(docs, currency=currency, language=language, page=page, bare=bare).encode()


def pdf_bytes(docs: list[dict[str, Any]], numbers: NumberFormat, *, page: str = "A4") -> bytes:
    """The cards printed by headless Chromium: one page (A4 or Letter) per persona."""
    from personify.personas.browser import html_to_pdf

    return html_to_pdf(html_bytes(docs, numbers, page=page).decode())


def png_bytes(
    doc: dict[str, Any], numbers: NumberFormat, *, dpi: int = 110, page: str = "A4"
) -> bytes:
    """One persona's card as a PNG: the page at ``dpi`` (A4 at 110 dpi: 909 x 1286 pixels)."""
    from PIL import Image  # Matplotlib's own dependency

    from personify.personas.browser import html_to_png
    from personify.personas.cardpage import page_size

    size = page_size(page)
    html = html_bytes([doc], numbers, page=page, bare=True).decode()
    shot = html_to_png(html, width_px=size.width_px, height_px=size.height_px, scale=dpi / 96)
    # The page at exactly dpi: Chromium rounds the scaled viewport up by a pixel or so.
    want = (round(size.points[0] / 72 * dpi), round(size.points[1] / 72 * dpi))
    image = Image.open(io.BytesIO(shot))
    if image.size == want:
        return shot
    out = io.BytesIO()
    image.crop((0, 0, *want)).save(out, format="PNG", optimize=True)
    return out.getvalue()


def to_html(ws: Workspace, persona_id: str | None = None, *, page: str = "A4") -> bytes:
    """The self-contained HTML card(s): one persona, or the set when ``persona_id`` is None."""
    return html_bytes(_selected(ws, persona_id), _numbers(ws), page=page)


def to_pdf(ws: Workspace, persona_id: str | None = None, *, page: str = "A4") -> bytes:
    """A printable PDF: one page per persona (every persona when ``persona_id`` is None)."""
    return pdf_bytes(_selected(ws, persona_id), _numbers(ws), page=page)


def to_png(ws: Workspace, persona_id: str, *, dpi: int = 110, page: str = "A4") -> bytes:
    """One persona's card as a PNG image."""
    return png_bytes(find_persona(ws, persona_id), _numbers(ws), dpi=dpi, page=page)


CSV_FIELDS = [
    "persona_id", "segment_id", "name", "title", "negative", "customers", "share_of_customers",
    "revenue", "share_of_revenue", "avg_revenue", "avg_orders", "avg_order_value",
    "acquisition_cost", "currency", "age_median", "age_p25", "age_p75", "gender", "job_titles",
    "job_families", "household", "cities", "channels", "categories", "acquisition", "themes",
    "goals", "frustrations", "gains", "objections", "consideration_share", "purchase_share",
    "retention_conversion", "advocacy_share", "lapsed_share", "days_to_first_purchase", "tagline",
]  # fmt: skip


def _csv_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text: leading = + - @ would make a formula."""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def csv_row(doc: dict[str, Any]) -> dict[str, Any]:
    age = (doc.get("demographics") or {}).get("age") or {}
    value, size = doc.get("value") or {}, doc.get("size") or {}
    stages = {s["stage"]: s for s in (doc.get("journey") or {}).get("stages") or []}

    def texts(field: str) -> str:
        return " | ".join(s["text"] for s in _statements(doc, field)[0])

    household = doc.get("household") or {}
    return {
        "persona_id": doc["persona_id"],
        "segment_id": doc["segment_id"],
        "name": doc["name"],
        "title": doc["title"],
        "negative": doc["negative"],
        "customers": size.get("customers"),
        "share_of_customers": size.get("share"),
        "revenue": value.get("revenue"),
        "share_of_revenue": value.get("revenue_share"),
        "avg_revenue": value.get("avg_revenue"),
        "avg_orders": value.get("avg_orders"),
        "avg_order_value": value.get("avg_order_value"),
        "acquisition_cost": value.get("acquisition_cost"),
        "currency": value.get("currency"),
        "age_median": age.get("median"),
        "age_p25": age.get("p25"),
        "age_p75": age.get("p75"),
        "gender": _shares((doc.get("demographics") or {}).get("gender") or [], 2),
        "job_titles": _shares((doc.get("job") or {}).get("titles") or []),
        "job_families": _shares((doc.get("job") or {}).get("families") or []),
        "household": _shares(household.get("marital_status") or []),
        "cities": _shares((doc.get("location") or {}).get("cities") or []),
        "channels": _shares(doc.get("channels") or [], 3, "channel"),
        "categories": _shares(doc.get("categories") or [], 3, "category"),
        "acquisition": _shares(doc.get("acquisition") or [], 3, "channel"),
        "themes": ", ".join(t["term"] for t in doc.get("themes") or []),
        "goals": texts("goals"),
        "frustrations": texts("frustrations"),
        "gains": texts("gains"),
        "objections": texts("objections"),
        "consideration_share": (stages.get("consideration") or {}).get("share"),
        "purchase_share": (stages.get("purchase") or {}).get("share"),
        "retention_conversion": (stages.get("retention") or {}).get("conversion"),
        "advocacy_share": (stages.get("advocacy") or {}).get("share"),
        "lapsed_share": ((stages.get("retention") or {}).get("lost") or {}).get("share"),
        "days_to_first_purchase": (stages.get("purchase") or {}).get("median"),
        "tagline": doc.get("tagline"),
    }


def csv_bytes(docs: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for doc in docs:
        writer.writerow({k: _csv_cell(v) for k, v in csv_row(doc).items()})
    return buffer.getvalue().encode("utf-8")


def to_csv(ws: Workspace) -> bytes:
    """All personas of the latest run, one row each (UTF-8 CSV with a header)."""
    return csv_bytes(load_personas(ws))


def to_json(ws: Workspace, persona_id: str | None = None) -> bytes:
    """One persona document, or the set ({"schema", "segment_run", "personas"}) when None."""
    from personify.personas.render import _finite

    if persona_id is not None:
        body: Any = find_persona(ws, persona_id)
    else:
        docs = load_personas(ws)
        body = {
            "schema": "personify.persona-set/v1",
            "segment_run": docs[0]["segment_run"],
            "personas": docs,
        }
    return (json.dumps(_finite(body), indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def to_markdown(ws: Workspace, persona_id: str | None = None) -> bytes:
    """The Markdown card(s), as ``personas/<slug>.md`` holds them, joined by rules."""
    from personify.personas.render import markdown_card

    locale = ws.config.locale
    cards = [
        markdown_card(doc, currency=locale.currency, language=locale.language)
        for doc in _selected(ws, persona_id)
    ]
    return "\n---\n\n".join(cards).encode("utf-8")
