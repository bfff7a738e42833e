"""Render persona documents into files people read.

``write_outputs`` writes, for every persona document, ``personas/<slug>.json`` (the document
as-is), ``personas/<slug>.md`` (a Markdown card), ``personas/<slug>.svg`` (its avatar) and
``personas/<slug>.html`` (its printable card, :mod:`personify.personas.cardpage`), plus
``cards.html`` (every card, one page each) and one self-contained ``report.html`` (the
overview; inline CSS and SVG; no scripts, fonts or remote assets).

Everything that comes from customer data is treated as untrusted: HTML is rendered by Jinja2
with autoescaping, and the Markdown environment escapes *every* ``{{ }}`` expression through
``finalize`` (``_Raw`` marks the few trusted strings that must pass unchanged). Output is
deterministic: same input, same bytes. NaN/inf numbers are written to JSON as null.
"""

from __future__ import annotations

import colorsys
import io
import json
import math
import re
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import matplotlib
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from matplotlib.figure import Figure

from personify.formatting import DASH, number_format

__all__ = [
    "RenderedOutputs",
    "avatar_svg",
    "format_value",
    "markdown_card",
    "md_escape",
    "write_outputs",
]

_TEMPLATES = "personas/templates"
_DASH = DASH
_SIZE_COLOUR, _REVENUE_COLOUR = "#3b5bdb", "#f59f00"


@dataclass(frozen=True)
class RenderedOutputs:
    json_files: list[Path]
    markdown_files: list[Path]
    report: Path
    avatar_files: list[Path] = field(default_factory=list)
    html_files: list[Path] = field(default_factory=list)  # a card per persona, cards.html


# ----------------------------------------------------------------------------- formatting
def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) or math.isinf(value) else float(value)


def format_value(
    value: Any, fmt: str = "number", *, currency: str | None = None, language: str = "en"
) -> str:
    """Format a number for people: percent 0.62 → 62%, currency → £1,234 (GBP), days, years, …

    Money shows ``currency`` in ``language``'s way; with no currency it is a plain number.
    """
    return number_format(currency, language)(value, fmt)


def _share_width(value: Any) -> str:
    """A CSS percentage width from a 0..1 share, clamped (only digits reach the template)."""
    v = _number(value) or 0.0
    return f"{min(max(v, 0.0), 1.0) * 100:.1f}%"


def _top(items: Any, key: str = "value", n: int = 3) -> str:
    """'female 61% · male 37%' from [{'value': ..., 'share': ...}, ...]."""
    if not isinstance(items, list):
        return _DASH
    parts = [
        f"{item.get(key, '?')} {format_value(item.get('share'), 'percent')}"
        for item in items[:n]
        if isinstance(item, dict)
    ]
    return " · ".join(parts) or _DASH


# ----------------------------------------------------------------------------- markdown
class _Raw(str):
    """Trusted text that the Markdown environment emits without escaping."""


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_MD_BLOCK_START = re.compile(r"^(?:(#{1,6}|[+=-]+)|(\d{1,9})([.)]))(?=\s|$)")


def md_escape(value: Any) -> str:
    """Escape text so that it renders literally in Markdown (CommonMark/GFM/Python-Markdown).

    Whitespace (including newlines) is collapsed so text cannot start new blocks; ``<``, ``>``
    and ``&`` become entities so no HTML can be injected; Markdown punctuation is backslashed.
    """
    if isinstance(value, _Raw):
        return str(value)
    text = " ".join(str(value if value is not None else "").split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    # Text that would start a heading, list or rule if it began a line: escape its marker.
    return _MD_BLOCK_START.sub(
        lambda m: "\\" + m.group(1) if m.group(1) else m.group(2) + "\\" + m.group(3), text
    )


# ----------------------------------------------------------------------------- avatar
def _hex(h: float, lightness: float, saturation: float) -> str:
    r, g, b = colorsys.hls_to_rgb(h % 1.0, lightness, saturation)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def avatar_svg(slug: str, *, size: int = 96, doc: dict[str, Any] | None = None) -> str:
    """The persona's illustrated avatar (:mod:`personify.personas.avatar`), deterministic for
    ``slug`` and matched to ``doc``'s age band, gender and style when the document is given.

    It never looks at customer text, contains no text and no ids of the data, so it is safe
    to inline; its element ids are prefixed per slug, so avatars can share one page."""
    from personify.personas.avatar import avatar_traits, persona_avatar_svg

    return persona_avatar_svg(slug, avatar_traits(doc) if doc else None, size=size)


# ----------------------------------------------------------------------------- chart
def _chart_svg(personas: list[dict[str, Any]]) -> str:
    """Grouped horizontal bars: share of customers vs share of revenue, one group per persona."""
    labels = [
        str(p.get("name") or p.get("slug") or "?") + (" (negative)" if p.get("negative") else "")
        for p in personas
    ]
    sizes = [(_number(_get(p, "size", "share")) or 0.0) * 100 for p in personas]
    revenue = [(_number(_get(p, "value", "revenue_share")) or 0.0) * 100 for p in personas]
    with matplotlib.rc_context(  # svg.hashsalt (+ Date=None below) makes the SVG reproducible
        {"svg.hashsalt": "personify", "svg.fonttype": "none", "svg.id": "segment-chart"}
    ):
        # A bare Figure is never registered with pyplot, so no GUI backend is ever touched
        # (works headless, like Agg) and there is no global figure to close afterwards.
        fig = Figure(figsize=(7.5, 0.9 + 0.5 * max(len(personas), 1)), layout="constrained")
        ax = fig.add_subplot()
        ys, height = list(range(len(personas))), 0.38
        for offset, values, label, colour in (
            (-height / 2, sizes, "Share of customers", _SIZE_COLOUR),
            (height / 2, revenue, "Share of revenue", _REVENUE_COLOUR),
        ):
            bars = ax.barh([y + offset for y in ys], values, height, label=label, color=colour)
            ax.bar_label(bars, fmt="%.0f%%", padding=3, fontsize=8, color="#495057")
        ax.set_yticks(ys, labels)
        ax.invert_yaxis()
        ax.set_xlim(0, max([*sizes, *revenue, 1.0]) * 1.15)
        ax.xaxis.set_major_formatter("{x:.0f}%")
        ax.grid(axis="x", color="#e9ecef", linewidth=0.8)
        ax.set_axisbelow(True)
        ax.tick_params(length=0, colors="#343a40")
        for tick, persona in zip(ax.get_yticklabels(), personas, strict=True):
            tick.set_color("#c92a2a" if persona.get("negative") else "#212529")
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.spines["bottom"].set_color("#adb5bd")
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2, frameon=False)
        buffer = io.StringIO()
        fig.savefig(
            buffer,
            format="svg",
            transparent=True,
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
        )
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML prologue and DOCTYPE for inline use
    return re.sub(r'\s*<style type="text/css">\*\{[^<]*\}</style>', "", svg)


# ----------------------------------------------------------------------------- documents
def _get(doc: dict[str, Any], *keys: str) -> Any:
    current: Any = doc
    for key in keys:
        if not isinstance(current, dict):
            return None
        current = current.get(key)
    return current


def _safe_slug(doc: dict[str, Any], index: int) -> str:
    """A filename-safe slug (the slug is untrusted: never let it escape ``personas/``)."""
    raw = str(doc.get("slug") or doc.get("persona_id") or doc.get("name") or "")
    slug = re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-")[:80].strip("-")
    return slug or f"persona-{index + 1}"


def _environments(currency: str | None, language: str) -> tuple[Environment, Environment]:
    loader = PackageLoader("personify", _TEMPLATES)
    common: dict[str, Any] = {
        "loader": loader,
        "undefined": StrictUndefined,
        "trim_blocks": True,
        "lstrip_blocks": True,
        "keep_trailing_newline": True,
    }
    html = Environment(autoescape=select_autoescape(["html", "html.j2"]), **common)
    markdown = Environment(autoescape=False, finalize=md_escape, **common)
    for env in (html, markdown):
        env.filters.update(fmt=number_format(currency, language), top=_top, width=_share_width)
        env.globals["dash"] = _DASH
        env.globals["currency"] = currency or ""
    markdown.globals["raw"] = _Raw
    return html, markdown


def _finite(obj: Any) -> Any:
    """The document with NaN/inf replaced by None, so the JSON file is standard JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    return [_finite(v) for v in obj] if isinstance(obj, list | tuple) else obj


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


def markdown_card(doc: dict[str, Any], *, currency: str | None = None, language: str = "en") -> str:
    """One persona's Markdown card (as ``personas/<slug>.md`` holds it)."""
    slug = _safe_slug(doc, 0)
    _, md_env = _environments(currency, language)
    return md_env.get_template("persona.md.j2").render(
        p=doc, slug=_Raw(slug), avatar=_Raw(f"{slug}.svg")
    )


def write_outputs(
    personas: list[dict[str, Any]],
    out_dir: Path,
    *,
    summary: dict[str, Any],
    currency: str | None = None,
    language: str = "en",
) -> RenderedOutputs:
    """Write JSON, Markdown and SVG files per persona plus ``report.html`` into ``out_dir``.

    Money is shown in ``currency`` (ISO 4217) the way ``language`` writes it; with no
    currency, as plain numbers.
    """
    out_dir = Path(out_dir)
    persona_dir = out_dir / "personas"
    persona_dir.mkdir(parents=True, exist_ok=True)
    slugs = [_safe_slug(doc, i) for i, doc in enumerate(personas)]
    duplicates = sorted({s for s in slugs if slugs.count(s) > 1})
    if duplicates:
        raise ValueError(f"duplicate persona slugs: {', '.join(duplicates)}")
    from personify.personas.cardpage import card_html

    html_env, md_env = _environments(currency, language)
    md_template = md_env.get_template("persona.md.j2")
    json_files: list[Path] = []
    md_files: list[Path] = []
    svg_files: list[Path] = []
    html_files: list[Path] = []
    for doc, slug in zip(personas, slugs, strict=True):
        text = json.dumps(_finite(doc), indent=2, sort_keys=True, ensure_ascii=False)
        json_files.append(_write(persona_dir / f"{slug}.json", text + "\n"))
        svg_files.append(
            _write(persona_dir / f"{slug}.svg", avatar_svg(slug, size=128, doc=doc) + "\n")
        )
        html_files.append(
            _write(
                persona_dir / f"{slug}.html",
                card_html([doc], currency=currency, language=language),
            )
        )
        md_files.append(
            _write(
                persona_dir / f"{slug}.md",
                md_template.render(p=doc, slug=_Raw(slug), avatar=_Raw(f"{slug}.svg")),
            )
        )
    # Primary personas first, then negative ones; input order is kept within each group.
    ordered = sorted(zip(personas, slugs, strict=True), key=lambda e: bool(e[0].get("negative")))
    cards = [
        {
            "p": doc,
            "slug": slug,
            "negative": bool(doc.get("negative")),
            "avatar": avatar_svg(slug, doc=doc),
        }
        for doc, slug in ordered
    ]
    css = files("personify").joinpath(_TEMPLATES, "report.css").read_text(encoding="utf-8")
    report = _write(
        out_dir / "report.html",
        html_env.get_template("report.html.j2").render(
            cards=cards,
            summary=summary,
            css=Markup(css),
            chart=Markup(_chart_svg([doc for doc, _ in ordered])) if cards else None,
        ),
    )
    if personas:  # the whole set as printable cards, one page each
        ordered_docs = [doc for doc, _ in ordered]
        html_files.append(
            _write(
                out_dir / "cards.html",
                card_html(ordered_docs, currency=currency, language=language),
            )
        )
    return RenderedOutputs(json_files, md_files, report, svg_files, html_files)
