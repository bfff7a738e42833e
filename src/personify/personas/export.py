"""Persona exports: a printable card (PDF, one A4 page per persona; PNG), CSV, JSON, Markdown.

The card is laid out once, as a Matplotlib figure of an A4 page, and saved as PDF (text
kept as text, TrueType fonts embedded, so a PDF reader can search and copy it) or
rasterised as PNG; no browser is needed. Every value on it comes from the stored persona
documents (the ``personas`` table of the latest segment run), so an export shows the same
figures as the JSON. Customer text (quotes) is drawn as plain text: Matplotlib's math
mode is switched off, so a '$' in a quote cannot change how it is drawn.

Signatures (the web app offers these as downloads):

- ``to_pdf(ws, persona_id=None) -> bytes``: one page per persona (all when ``None``)
- ``to_png(ws, persona_id, *, dpi=110) -> bytes``: the card of one persona
- ``to_csv(ws) -> bytes``: all personas, one row each (UTF-8 with a header)
- ``to_json(ws, persona_id=None) -> bytes``: one document, or the set when ``None``
- ``to_markdown(ws, persona_id=None) -> bytes``: the Markdown card(s)

``persona_id`` may also be a slug or a persona's name (case-insensitive).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import matplotlib
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Ellipse, FancyBboxPatch, Wedge

from personify.errors import WorkspaceError
from personify.formatting import DASH, NumberFormat, number_format

if TYPE_CHECKING:
    from personify.workspace import Workspace

__all__ = [
    "card_figure",
    "find_persona",
    "load_personas",
    "to_csv",
    "to_json",
    "to_markdown",
    "to_pdf",
    "to_png",
]

A4 = (210 / 25.4, 297 / 25.4)  # inches
INK, MUTED, ACCENT, NEGATIVE = "#212529", "#6c757d", "#3b5bdb", "#c92a2a"
LEVEL_COLOUR = {"high": "#2b8a3e", "medium": "#e67700", "low": "#868e96", "none": "#adb5bd"}
RC: dict[str, Any] = {
    "pdf.fonttype": 42,  # TrueType: text stays extractable and searchable
    "ps.fonttype": 42,
    "text.usetex": False,
    "text.parse_math": False,  # customer text is drawn as written: '$' starts no math
    "svg.hashsalt": "personify",
    "font.family": "DejaVu Sans",  # ships with Matplotlib: £, €, umlauts
}


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


# ----------------------------------------------------------------------------- the card
def _statements(doc: dict[str, Any], field: str) -> tuple[list[dict[str, Any]], str | None]:
    value = doc.get(field) or {}
    return list(value.get("statements") or []), value.get("note")


def _shares(items: list[dict[str, Any]], n: int = 3, key: str = "value") -> str:
    parts = [f"{i[key]} {i['share'] * 100:.0f}%" for i in items[:n] if i.get("share") is not None]
    return " · ".join(parts) or DASH


class _Column:
    """Draws wrapped text downwards from ``top`` in figure coordinates."""

    LINE = 0.0125  # figure height per line of 8-point text

    def __init__(self, fig: Figure, x: float, top: float, width_chars: int) -> None:
        self.fig, self.x, self.y, self.width = fig, x, top, width_chars

    def heading(self, text: str, level: str | None = None) -> None:
        self.y -= self.LINE * 0.6
        self.fig.text(self.x, self.y, text.upper(), fontsize=9, weight="bold", color=ACCENT)
        if level:
            self.fig.text(
                self.x + 0.43,
                self.y,
                f"confidence: {level}",
                fontsize=6.5,
                color=LEVEL_COLOUR.get(level, MUTED),
                ha="right",
            )
        self.y -= self.LINE * 1.25

    def text(
        self, text: str, *, size: float = 8, colour: str = INK, bullet: str = "", style: str = ""
    ) -> None:
        width = int(self.width * 8 / size) - len(bullet)
        lines = textwrap.wrap(text, width=max(width, 10)) or [""]
        for i, line in enumerate(lines):
            prefix = bullet if i == 0 else " " * len(bullet)
            self.fig.text(
                self.x,
                self.y,
                str(prefix + line),
                fontsize=size,
                color=colour,
                style=style or "normal",
            )
            self.y -= self.LINE * size / 8
        self.y -= self.LINE * 0.25

    def statements(self, doc: dict[str, Any], field: str, title: str, limit: int = 5) -> None:
        items, note = _statements(doc, field)
        self.heading(title, (doc.get("confidence") or {}).get(field))
        if not items:
            self.text(note or "Not in the data", colour=MUTED, style="italic")
        for s in items[:limit]:
            self.text(f"{s['text']} [{s['confidence']}]", bullet="• ")


def _avatar(fig: Figure, slug: str, box: tuple[float, float, float, float]) -> None:
    """The avatar of render.avatar_svg, drawn with the same hash-derived colours."""
    from personify.personas.render import _hex

    digest = hashlib.sha256(slug.encode("utf-8")).digest()
    hue = digest[0] / 256
    ax = fig.add_axes(box)
    ax.set_xlim(0, 100)
    ax.set_ylim(100, 0)
    ax.set_aspect("equal")
    ax.axis("off")
    bg = Circle((50, 50), 50, color=_hex(hue, 0.90, 0.55))
    ax.add_patch(bg)
    shirt = Ellipse((50, 92), 84, 60, color=_hex(hue + 0.25 + digest[1] / 1024, 0.50, 0.45))
    shirt.set_clip_path(bg)
    ax.add_patch(shirt)
    ax.add_patch(Circle((50, 40), 16, color=_hex(hue, 0.40, 0.30)))
    if digest[2] % 5 != 4:  # hair, as in the SVG (one style in five has none)
        ax.add_patch(Wedge((50, 40), 16.5, 180, 360, color=_hex(hue, 0.22, 0.35)))


def _journey_chart(
    fig: Figure, doc: dict[str, Any], box: tuple[float, float, float, float]
) -> None:
    stages = (doc.get("journey") or {}).get("stages") or []
    ax = fig.add_axes(box)
    names = [s["stage"] for s in stages]
    shares = [(s.get("share") or 0.0) * 100 for s in stages]
    bars = ax.barh(range(len(stages)), shares, color=ACCENT, height=0.6)
    ax.set_yticks(range(len(stages)), names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    for bar, s in zip(bars, stages, strict=True):
        label = DASH if s.get("share") is None else f"{s['share'] * 100:.0f}%"
        if s.get("median") is not None and s.get("median_of"):
            label += f" · median {s['median']:g} {s['median_of']}"
        ax.text(bar.get_width() + 1.5, bar.get_y() + 0.45, label, fontsize=6.5, color=MUTED)
    ax.tick_params(length=0, labelsize=7, colors=INK)
    ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.spines["left"].set_color("#adb5bd")


def _bars(
    fig: Figure,
    items: list[tuple[str, float]],
    box: tuple[float, float, float, float],
    colour: str = ACCENT,
) -> None:
    ax = fig.add_axes(box)
    ax.barh(range(len(items)), [v * 100 for _, v in items], color=colour, height=0.6)
    ax.set_yticks(range(len(items)), [str(n) for n, _ in items], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 118)
    for i, (_, v) in enumerate(items):
        ax.text(v * 100 + 2, i + 0.2, f"{v * 100:.0f}%", fontsize=6.5, color=MUTED)
    ax.set_xticks([])
    ax.tick_params(length=0)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.spines["left"].set_color("#adb5bd")


def card_figure(doc: dict[str, Any], numbers: NumberFormat) -> Figure:
    """One persona's card as an A4 page."""
    fig = Figure(figsize=A4)
    negative = bool(doc.get("negative"))
    fig.patches.append(
        FancyBboxPatch(
            (0.03, 0.865),
            0.94,
            0.115,
            boxstyle="round,pad=0.004,rounding_size=0.01",
            transform=fig.transFigure,
            facecolor="#fff5f5" if negative else "#edf2ff",
            edgecolor="none",
            zorder=-1,  # behind the avatar's axes
        )
    )
    _avatar(fig, str(doc.get("slug") or doc.get("persona_id")), (0.045, 0.875, 0.095, 0.095))
    fig.text(0.16, 0.945, str(str(doc["name"])), fontsize=22, weight="bold", color=INK)
    fig.text(
        0.16, 0.92, str(str(doc["title"])), fontsize=12, color=NEGATIVE if negative else ACCENT
    )
    tagline = textwrap.wrap(str(doc.get("tagline", "")), 95)[:2]
    for i, line in enumerate(tagline):
        fig.text(0.16, 0.898 - i * 0.014, str(line), fontsize=8.5, color=MUTED)
    if negative:
        fig.text(0.80, 0.95, "NEGATIVE PERSONA", fontsize=9, weight="bold", color=NEGATIVE)
    size, value = doc.get("size") or {}, doc.get("value") or {}
    sold = value.get("revenue_share") is not None  # no orders at all: no revenue to average
    figures = [
        ("Customers", numbers(size.get("customers"), "count")),
        ("Share of customers", numbers(size.get("share"), "percent")),
        ("Share of revenue", numbers(value.get("revenue_share"), "percent")),
        ("Avg revenue", numbers(value.get("avg_revenue"), "currency") if sold else DASH),
        ("Avg order value", numbers(value.get("avg_order_value"), "currency")),
        ("Acquisition cost", numbers(value.get("acquisition_cost"), "currency")),
    ]
    for i, (label, text) in enumerate(figures):
        x = 0.04 + i * 0.157
        fig.text(x, 0.838, text, fontsize=12, weight="bold", color=INK)
        fig.text(x, 0.824, label, fontsize=7, color=MUTED)

    left = _Column(fig, 0.04, 0.81, 58)
    demo = doc.get("demographics") or {}
    age = demo.get("age")
    left.heading("Who they are", (doc.get("confidence") or {}).get("demographics"))
    if age:
        left.text(f"Age: median {age['median']:g} (middle half {age['p25']:g}-{age['p75']:g})")
    if demo.get("gender"):
        left.text(f"Gender: {_shares(demo['gender'])}")
    for key, label in (("income_band", "Income"), ("education", "Education")):
        if demo.get(key):
            left.text(f"{label}: {_shares(demo[key])}")
    job = doc.get("job") or {}
    left.text(
        "Job: "
        + (_shares(job.get("titles") or []) if job.get("titles") else job.get("note") or DASH)
    )
    if job.get("families"):
        left.text(f"Job family: {_shares(job['families'])}")
    household = doc.get("household") or {}
    parts = (
        [_shares(household.get("marital_status") or [])] if household.get("marital_status") else []
    )
    parts += [f"{f['label']} {f['share'] * 100:.0f}%" for f in household.get("flags") or []]
    left.text("Household: " + (" · ".join(parts) if parts else household.get("note") or DASH))
    location = doc.get("location") or {}
    left.text(
        "Location: "
        + (
            _shares(location.get("cities") or [])
            if location.get("cities")
            else location.get("note") or DASH
        )
    )
    left.heading("What sets them apart", (doc.get("confidence") or {}).get("traits"))
    traits = doc.get("traits") or []
    if not traits:
        left.text("Nothing sets them apart by more than chance", colour=MUTED, style="italic")
    for t in traits[:5]:
        left.text(str(t["text"]), bullet="• ")
    channels = [(c["channel"], float(c["share"])) for c in doc.get("channels") or []]
    categories = [(c["category"], float(c["share"])) for c in (doc.get("categories") or [])[:4]]
    if channels or categories:
        left.heading("Where and what they buy")
        top = left.y
        if channels:
            _bars(fig, channels, (0.09, top - 0.055, 0.16, 0.05))
        if categories:
            _bars(fig, categories, (0.33, top - 0.07, 0.13, 0.065), colour="#f59f00")
        left.y = top - 0.08
    acquisition = doc.get("acquisition") or []
    if acquisition:
        left.text(f"Acquired through: {_shares(acquisition, 4, 'channel')}")
    left.statements(doc, "objections", "Objections")

    right = _Column(fig, 0.52, 0.81, 58)
    right.statements(doc, "goals", "Goals and motivations")
    right.statements(doc, "frustrations", "Frustrations and pains")
    right.statements(doc, "gains", "Gains they look for")
    empathy = doc.get("empathy_map") or {}
    right.heading("Empathy map", (doc.get("confidence") or {}).get("empathy_map"))
    for key, limit in (("thinks", 2), ("does", 3), ("feels", 2)):
        items = (empathy.get(key) or {}).get("statements") or []
        if not items:
            note = (empathy.get(key) or {}).get("note") or DASH
            right.text(f"{key.capitalize()}: {note}", colour=MUTED)
        for i, item in enumerate(items[:limit]):
            lead = f"{key.capitalize()}: " if i == 0 else "  · "
            right.text(lead + str(item["text"]))

    bottom = min(left.y, right.y) - 0.01
    fig.text(0.04, bottom, "JOURNEY", fontsize=9, weight="bold", color=ACCENT)
    level = (doc.get("confidence") or {}).get("journey")
    if level:
        fig.text(
            0.47,
            bottom,
            f"confidence: {level}",
            fontsize=6.5,
            color=LEVEL_COLOUR[level],
            ha="right",
        )
    height = 0.1
    journey = doc.get("journey") or {}
    if any(s.get("persons") for s in journey.get("stages") or []):
        _journey_chart(fig, doc, (0.13, bottom - height - 0.008, 0.36, height))
    else:
        note = journey.get("note") or "Not in the data"
        fig.text(0.04, bottom - 0.02, note, fontsize=8, color=MUTED, style="italic")
        height = 0.02
    quotes = _Column(fig, 0.04, bottom - height - 0.03, 120)
    quotes.heading("In their words", (doc.get("confidence") or {}).get("themes"))
    for q in (doc.get("quotes") or [])[:5]:
        date = f", {q['date']}" if q.get("date") else ""
        quotes.text(f"“{q['text']}” ({q['source']}{date})", style="italic", size=7.5)
    if not doc.get("quotes"):
        quotes.text("The segment wrote no text", colour=MUTED, style="italic")
    themes = [t["term"] for t in doc.get("themes") or []]
    if themes:
        quotes.text("Themes: " + ", ".join(themes[:8]), size=7)
    footer = (
        f"{doc['persona_id']} · segment run {doc['segment_run']} · {doc['schema']} · every "
        "statement is from the workspace's data; its test and members are in the JSON"
    )
    fig.text(0.04, 0.02, str(footer), fontsize=6, color=MUTED)
    return fig


@contextmanager
def _rc() -> Iterator[None]:
    with matplotlib.rc_context(RC):  # type: ignore[arg-type]
        yield


# ----------------------------------------------------------------------------- exports
def pdf_bytes(docs: list[dict[str, Any]], numbers: NumberFormat) -> bytes:
    buffer = io.BytesIO()
    with _rc(), PdfPages(buffer, metadata={"Creator": "Personify", "CreationDate": None}) as pdf:
        for doc in docs:
            pdf.savefig(card_figure(doc, numbers))
    return buffer.getvalue()


def png_bytes(doc: dict[str, Any], numbers: NumberFormat, *, dpi: int = 110) -> bytes:
    buffer = io.BytesIO()
    with _rc():
        card_figure(doc, numbers).savefig(
            buffer, format="png", dpi=dpi, metadata={"Software": None}
        )
    return buffer.getvalue()


def to_pdf(ws: Workspace, persona_id: str | None = None) -> bytes:
    """A printable PDF: one A4 page per persona (every persona when ``persona_id`` is None)."""
    return pdf_bytes(_selected(ws, persona_id), _numbers(ws))


def to_png(ws: Workspace, persona_id: str, *, dpi: int = 110) -> bytes:
    """One persona's card as a PNG image (A4; 909 x 1286 pixels at 110 dpi)."""
    return png_bytes(find_persona(ws, persona_id), _numbers(ws), dpi=dpi)


CSV_FIELDS = [
    "persona_id", "segment_id", "name", "title", "negative", "customers", "share_of_customers",
    "revenue", "share_of_revenue", "avg_revenue", "avg_orders", "avg_order_value",
    "acquisition_cost", "currency", "age_median", "age_p25", "age_p75", "gender", "job_titles",
    "job_families", "household", "cities", "channels", "categories", "acquisition", "themes",
    "goals", "frustrations", "gains", "objections", "first_purchase_share", "repeat_conversion",
    "support_share", "lapse_share", "tagline",
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
        "first_purchase_share": (stages.get("first purchase") or {}).get("share"),
        "repeat_conversion": (stages.get("repeat") or {}).get("conversion"),
        "support_share": (stages.get("support") or {}).get("share"),
        "lapse_share": (stages.get("lapse") or {}).get("share"),
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
