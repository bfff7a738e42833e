"""The persona card's charts, drawn by Matplotlib as inline SVG (no browser, no scripts).

- ``traits_svg(doc, numbers)``: what sets the persona apart, as effect sizes (standard
  deviations from the average customer), each bar labelled with the two figures behind it;
- ``funnel_svg(doc)``: the journey as a funnel, stage by stage, with the share of members
  who reach each stage, the conversion and drop-off between stages and the median time;
- ``value_svg(doc, numbers)``: what the persona is worth beside the whole company (share of
  customers against share of revenue, and averages per customer against the company's).

Each function returns an ``<svg>`` element (no XML prologue), or ``None`` when the document
has nothing to draw, so the card says "not in the data" instead of an empty chart. Text is
kept as SVG text (searchable and copyable once printed to PDF); labels come from the
persona document and are escaped by Matplotlib's SVG writer; math mode is off, so a '$'
in a label is drawn as written. Output is deterministic (fixed hash salt, no dates).
"""

from __future__ import annotations

import io
import math
import re
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import Polygon

from personify.formatting import NumberFormat

__all__ = ["funnel_svg", "persona_charts", "presentation_attributes", "traits_svg", "value_svg"]

INK, MUTED, GRID = "#1f2933", "#616e7c", "#e4e7eb"
UP, DOWN, COMPANY = "#3b5bdb", "#e8590c", "#adb5bd"
FUNNEL = ("#364fc7", "#3b5bdb", "#4c6ef5", "#5c7cfa", "#748ffc", "#91a7ff")
_RC: dict[str, Any] = {
    "svg.fonttype": "none",  # text stays text: the PDF can be searched
    "svg.hashsalt": "personify",
    "text.usetex": False,
    "text.parse_math": False,
    "font.family": "DejaVu Sans",  # ships with Matplotlib: the same metrics everywhere
    "font.size": 8,
    "axes.unicode_minus": True,
}


_STYLE = re.compile(r'style="([^"]*)"')


def presentation_attributes(svg: str) -> str:
    """``style="fill: #fff; font-size: 7px"`` as ``fill="#fff" font-size="7px"``: SVG
    presentation attributes, which a strict Content Security Policy (no inline styles, as
    the web app sends) still applies, so the charts keep their colours there too."""

    def attrs(m: re.Match[str]) -> str:
        out = []
        for decl in m.group(1).split(";"):
            name, _, value = decl.partition(":")
            name, value = name.strip(), value.strip().replace("'", "").replace('"', "")
            if re.fullmatch(r"[a-z-]+", name) and value:
                out.append(f'{name}="{value}"')
        return " ".join(out)

    return _STYLE.sub(attrs, svg)


def _svg(fig: Figure, chart_id: str) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context({**_RC, "svg.id": chart_id}):  # type: ignore[dict-item]
        fig.savefig(
            buffer,
            format="svg",
            transparent=True,
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
        )
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r'\s*<style type="text/css">\*\{[^<]*\}</style>', "", svg)
    # Responsive: the card's CSS sets the width, the viewBox keeps the proportions.
    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", svg, count=1)
    svg = presentation_attributes(svg)
    return svg.replace("<svg ", f'<svg class="chart" role="img" aria-label="{chart_id}" ', 1)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _clean(ax: Any) -> None:
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=0, colors=INK)


# ----------------------------------------------------------------------------- traits
def traits_svg(doc: dict[str, Any], numbers: NumberFormat, *, limit: int = 6) -> str | None:
    """Diverging bars: each distinguishing attribute's distance from the average customer."""
    traits = [t for t in doc.get("traits") or [] if _number(t.get("z")) is not None][:limit]
    if not traits:
        return None
    with matplotlib.rc_context(_RC):  # type: ignore[arg-type]
        rows = len(traits)
        height = 0.3 + 0.24 * rows
        fig = Figure(figsize=(3.6, height))
        bottom = 0.22 / height
        ax = fig.add_axes((0.43, bottom, 0.36, 1 - bottom - 0.02))
        zs = [float(t["z"]) for t in traits]
        span = max(1.0, max(abs(z) for z in zs)) * 1.08
        ys = list(range(rows))
        ax.barh(ys, zs, height=0.64, color=[UP if z >= 0 else DOWN for z in zs])
        ax.axvline(0, color=INK, linewidth=0.8)
        ax.set_xlim(-span, span)
        ax.set_ylim(rows - 0.5, -0.5)
        for y, t in zip(ys, traits, strict=True):
            fmt = str(t.get("format") or "number")
            seg, pop = numbers(t.get("segment"), fmt), numbers(t.get("population"), fmt)
            where = ax.get_yaxis_transform()
            ax.text(1.05, y - 0.16, seg, transform=where, va="center", fontsize=6.8,
                    weight="bold", color=INK)  # fmt: skip
            ax.text(1.05, y + 0.24, f"vs {pop}", transform=where, va="center", fontsize=5.8,
                    color=MUTED)  # fmt: skip
        names = [
            str(t.get("label") or t.get("feature")).replace("Inferred: ", "≈ ") for t in traits
        ]
        ax.set_yticks(ys, [_short(name, 27) for name in names])
        ax.set_xticks([-span * 0.7, 0, span * 0.7], ["below", "average", "above"])
        ax.tick_params(axis="x", labelsize=6, colors=MUTED, pad=2)
        ax.tick_params(axis="y", labelsize=6.8, pad=3)
        ax.grid(axis="x", color=GRID, linewidth=0.6)
        ax.set_axisbelow(True)
        _clean(ax)
    return _svg(fig, "distinguishing attributes")


def _short(text: str, width: int = 30) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


# ----------------------------------------------------------------------------- journey
def _days(value: float) -> str:
    if value >= 120:
        return f"{value / 30.44:.0f} mo"
    if value >= 21:
        return f"{value / 7:.0f} wk"
    return f"{value:.0f} d"


def _median_text(stage: dict[str, Any]) -> str | None:
    value, of = _number(stage.get("median")), stage.get("median_of")
    if value is None or not of:
        return None
    if str(of).startswith("days"):
        rest = str(of)[len("days") :].strip()
        rest = rest.replace("from the first touch to the first purchase", "to buy")
        return f"{_days(value)} {rest}".strip()
    return f"{value:g} {of}"


def funnel_svg(doc: dict[str, Any]) -> str | None:
    """The journey's stages as a funnel: reach, conversion and drop-off, median times."""
    stages = [
        s for s in (doc.get("journey") or {}).get("stages") or [] if s.get("share") is not None
    ]
    if len(stages) < 2:  # one bar (everyone is aware) is no journey
        return None
    n = len(stages)
    with matplotlib.rc_context(_RC):  # type: ignore[arg-type]
        fig = Figure(figsize=(3.4, 0.1 + 0.34 * n))
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_xlim(-1.62, 1.2)
        ax.set_ylim(n - 0.45, -0.55)
        ax.axis("off")
        centre, full = -0.08, 0.98  # the funnel's centre and the width of 100%
        widths = [max(float(s["share"]), 0.03) * full for s in stages]
        height = 0.8
        for i, (s, w) in enumerate(zip(stages, widths, strict=True)):
            colour = FUNNEL[min(i, len(FUNNEL) - 1)]
            nxt = widths[i + 1] if i + 1 < n else w
            top, bottom = i - height / 2, i + height / 2
            half, half_next = w / 2, min(w, nxt) / 2
            ax.add_patch(
                Polygon(
                    [
                        (centre - half, top),
                        (centre + half, top),
                        (centre + half_next, bottom),
                        (centre - half_next, bottom),
                    ],
                    closed=True,
                    facecolor=colour,
                    edgecolor="white",
                    linewidth=1.2,
                )
            )
            ax.text(
                -1.6,
                i - 0.12,
                str(s.get("stage", "")).capitalize(),
                fontsize=7.4,
                weight="bold",
                color=INK,
                va="center",
            )
            sub = _median_text(s)
            if sub:
                ax.text(
                    -1.6,
                    i + 0.2,
                    _short("median " + sub, 31),
                    fontsize=5.6,
                    color=MUTED,
                    va="center",
                )
            label = f"{float(s['share']) * 100:.0f}%"
            inside = w > 0.22
            ax.text(
                centre if inside else centre + half + 0.03,
                i,
                label,
                ha="center" if inside else "left",
                va="center",
                fontsize=7.2,
                color="white" if inside else INK,
                weight="bold",
            )
            conversion, drop = _number(s.get("conversion")), _number(s.get("drop_off"))
            if i > 0 and conversion is not None:
                of = str(s.get("conversion_of") or "")
                ax.text(
                    0.5,
                    i - 0.1,
                    f"{conversion * 100:.0f}% of {of}",
                    fontsize=6,
                    color=INK,
                    va="center",
                )
                if drop is not None and drop > 0:
                    ax.text(
                        0.5,
                        i + 0.18,
                        f"{drop * 100:.0f}% drop off",
                        fontsize=5.6,
                        color=DOWN,
                        va="center",
                    )
    return _svg(fig, "journey funnel")


# ----------------------------------------------------------------------------- value
def value_svg(doc: dict[str, Any], numbers: NumberFormat) -> str | None:
    """The persona beside the company: shares, then averages per customer (company = grey)."""
    size, value = doc.get("size") or {}, doc.get("value") or {}
    rows: list[tuple[str, float, float, str]] = []  # label, persona, company, format
    share, revenue_share = _number(size.get("share")), _number(value.get("revenue_share"))
    if share is not None and revenue_share is not None:
        rows.append(("Share of customers → of revenue", share, revenue_share, "share"))
    avg = _number(value.get("avg_revenue"))
    if avg is not None and share and revenue_share:
        rows.append(("Revenue per customer", avg, avg * share / revenue_share, "currency"))
    labels = {
        "clv": "Future value (CLV)",
        "avg_order_value": "Average basket",
        "frequency": "Orders per customer",
    }
    for t in doc.get("traits") or []:
        feature = t.get("feature")
        seg, pop = _number(t.get("segment")), _number(t.get("population"))
        if feature in labels and seg is not None and pop is not None:
            rows.append((labels[feature], seg, pop, str(t.get("format") or "number")))
    if not rows:
        return None
    with matplotlib.rc_context(_RC):  # type: ignore[arg-type]
        fig = Figure(figsize=(3.6, 0.12 + 0.36 * len(rows)))
        ax = fig.add_axes((0.0, 0.02, 1.0, 0.96))
        ax.set_xlim(0, 1.0)
        ax.set_ylim(len(rows) - 0.3, -0.7)
        ax.axis("off")
        for i, (label, persona, company, fmt) in enumerate(rows):
            ax.text(0.0, i - 0.42, label, fontsize=6.8, weight="bold", color=INK, va="center")
            if fmt == "share":  # customers (grey) against revenue (colour), both of 100%
                pairs = [(persona, "of customers", COMPANY), (company, "of revenue", UP)]
                scale = 1.0
            else:
                pairs = [(persona, "this persona", UP), (company, "all customers", COMPANY)]
                scale = max(abs(persona), abs(company)) or 1.0
            for j, (v, who, colour) in enumerate(pairs):
                y = i - 0.1 + j * 0.3
                ax.barh(y, 0.62 * max(v, 0) / scale, left=0.0, height=0.26, color=colour)
                shown = numbers(v, "percent" if fmt == "share" else fmt)
                ax.text(
                    0.63 * max(v, 0) / scale + 0.015,
                    y,
                    f"{shown} {who}",
                    fontsize=6.2,
                    color=INK if j == 0 or fmt == "share" else MUTED,
                    va="center",
                )
    return _svg(fig, "value against the company")


def persona_charts(
    doc: dict[str, Any], numbers: NumberFormat, *, width: int = 420
) -> dict[str, str | None]:
    """The card's three charts for a web page: ``traits``, ``funnel`` and ``value``, each an
    ``<svg>`` of ``width`` CSS pixels (its height follows), or None when there is nothing to
    draw. No style attributes or elements: they show under a CSP without inline styles."""

    def sized(svg: str | None) -> str | None:
        if svg is None:
            return None
        return svg.replace("<svg ", f'<svg width="{int(width)}" ', 1)

    return {
        "traits": sized(traits_svg(doc, numbers)),
        "funnel": sized(funnel_svg(doc)),
        "value": sized(value_svg(doc, numbers)),
    }
