"""``personify personas [show NAME|ID] [export --format F --to PATH]``.

Customer text on a card (quotes, themes, attribute values) is untrusted: every value is
passed through :func:`rich.markup.escape` before it joins the card's markup, so "[/]" or
"[link=...]" in a quote is printed as written.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from personify.formatting import DASH, NumberFormat, number_format
from personify.workspace import Workspace, default_workspace_dir

personas_app = typer.Typer(
    help="Personas: generate them (no subcommand), show one card, export the set.",
    invoke_without_command=True,
)

WorkspaceOpt = Annotated[
    Path,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (default: $PERSONIFY_WORKSPACE or '.')",
        default_factory=default_workspace_dir,
        show_default=False,
    ),
]
FORMATS = ("pdf", "png", "html", "csv", "json", "md")
PAGES = ("A4", "Letter")


def _cli() -> ModuleType:
    # The main CLI module owns the consoles, the progress bars and the error handling.
    from personify import cli

    return cli


@personas_app.callback()
def personas(ctx: typer.Context, workspace: WorkspaceOpt) -> None:
    """Write a persona per segment (JSON, Markdown) and the HTML report."""
    if ctx.invoked_subcommand is not None:
        return
    cli = _cli()
    with cli._errors(), Workspace(workspace) as ws:
        r = cli._stage(ws, "personas")
        cli._print_personas(r)


def _e(value: Any) -> str:
    return escape(str(value))


def _shares(items: list[dict[str, Any]] | None, key: str = "value", n: int = 3) -> str:
    parts = [f"{_e(i.get(key))} {i['share'] * 100:.0f}%" for i in (items or [])[:n]]
    return " · ".join(parts) or DASH


def _field(doc: dict[str, Any], name: str, title: str) -> str:
    field = doc.get(name) or {}
    level = (doc.get("confidence") or {}).get(name, "none")
    lines = [f"[bold]{title}[/bold] [dim](confidence: {_e(level)})[/dim]"]
    statements = field.get("statements") or []
    lines += [f"  • {_e(s['text'])} [dim]\\[{_e(s['confidence'])}][/dim]" for s in statements[:5]]
    if not statements:
        lines.append(f"  [dim italic]{_e(field.get('note') or 'Not in the data')}[/dim italic]")
    return "\n".join(lines)


def card(doc: dict[str, Any], numbers: NumberFormat) -> Panel:
    """A persona's card as a Rich renderable; every value from the document is escaped."""
    size, value = doc.get("size") or {}, doc.get("value") or {}
    figures = Table.grid(padding=(0, 3))
    labels = ["Customers", "Share", "Revenue share", "Avg revenue", "Avg order", "CAC"]
    for label in labels:
        figures.add_column(label)
    figures.add_row(*[f"[dim]{label}[/dim]" for label in labels])
    figures.add_row(
        numbers(size.get("customers"), "count"),
        numbers(size.get("share"), "percent"),
        numbers(value.get("revenue_share"), "percent"),
        _e(numbers(value.get("avg_revenue"), "currency"))
        if value.get("revenue_share") is not None
        else DASH,
        _e(numbers(value.get("avg_order_value"), "currency")),
        _e(numbers(value.get("acquisition_cost"), "currency")),
    )
    demo = doc.get("demographics") or {}
    age = demo.get("age")
    who = [
        f"Age: median {age['median']:g} ({age['p25']:g}-{age['p75']:g})" if age else "Age: —",
        f"Gender: {_shares(demo.get('gender'))}",
        "Job: "
        + (
            _shares((doc.get("job") or {}).get("titles"))
            if (doc.get("job") or {}).get("titles")
            else _e((doc.get("job") or {}).get("note") or DASH)
        ),
        "Household: "
        + (
            _shares((doc.get("household") or {}).get("marital_status"))
            if (doc.get("household") or {}).get("marital_status")
            else _e((doc.get("household") or {}).get("note") or DASH)
        ),
        "Location: "
        + (
            _shares((doc.get("location") or {}).get("cities"))
            if (doc.get("location") or {}).get("cities")
            else _e((doc.get("location") or {}).get("note") or DASH)
        ),
    ]
    traits = [f"  • {_e(t['text'])}" for t in (doc.get("traits") or [])[:5]]
    stages = (doc.get("journey") or {}).get("stages") or []
    journey = Table("stage", "members", "share", "conversion", "median", box=None, pad_edge=False)
    for s in stages:
        median = "" if s.get("median") is None else f"{s['median']:g} {_e(s.get('median_of'))}"
        journey.add_row(
            _e(s["stage"]),
            _e(s.get("note") or DASH) if s.get("persons") is None else f"{s['persons']:,}",
            numbers(s.get("share"), "percent"),
            numbers(s.get("conversion"), "percent"),
            median,
        )
    quotes = [
        f"  [italic]“{_e(q['text'])}”[/italic] [dim]({_e(q['source'])}"
        + (f", {_e(q['date'])}" if q.get("date") else "")
        + ")[/dim]"
        for q in doc.get("quotes") or []
    ]
    themes = ", ".join(_e(t["term"]) for t in doc.get("themes") or []) or DASH
    parts: list[Any] = [
        f"[italic]{_e(doc.get('tagline', ''))}[/italic]",
        _e((doc.get("narrative") or {}).get("text", "")),
        "",
        figures,
        "",
        "[bold]Who they are[/bold]\n  " + "\n  ".join(who),
        "[bold]What sets them apart[/bold]\n" + ("\n".join(traits) or "  —"),
        _field(doc, "goals", "Goals and motivations"),
        _field(doc, "frustrations", "Frustrations and pains"),
        _field(doc, "gains", "Gains they look for"),
        _field(doc, "objections", "Objections"),
        "[bold]Journey[/bold]",
        journey,
        f"[bold]Themes[/bold] {themes}",
        "[bold]In their words[/bold]\n" + ("\n".join(quotes) or "  —"),
        f"[dim]{_e(doc.get('persona_id'))} · segment run {_e(doc.get('segment_run'))}[/dim]",
    ]
    title = f"[bold]{_e(doc['name'])}[/bold] — {_e(doc['title'])}"
    if doc.get("negative"):
        title += " [red](negative)[/red]"
    return Panel(Group(*parts), title=title, title_align="left", expand=False)


@personas_app.command("show")
def show(
    persona: Annotated[str, typer.Argument(help="A persona's name, slug or id")],
    workspace: WorkspaceOpt,
) -> None:
    """Show one persona's card."""
    from personify.personas.export import find_persona

    cli = _cli()
    with cli._errors(), Workspace(workspace) as ws:
        doc = find_persona(ws, persona)
        locale = ws.config.locale
        cli.console.print(card(doc, number_format(locale.currency, locale.language)))


@personas_app.command("export")
def export(
    workspace: WorkspaceOpt,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="pdf, png, html, csv, json or md")
    ] = "pdf",
    to: Annotated[Path | None, typer.Option("--to", help="File (or folder for png)")] = None,
    persona: Annotated[
        str | None, typer.Option("--persona", "-p", help="Only this persona (name, slug or id)")
    ] = None,
    page: Annotated[
        str, typer.Option("--page", help="Page size of the pdf, png and html cards: A4 or Letter")
    ] = "A4",
) -> None:
    """Export the personas: PDF (one page each), PNG cards, HTML, CSV, JSON or Markdown."""
    from personify.personas import export as ex

    cli = _cli()
    if fmt not in FORMATS:
        cli._print_error(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        raise typer.Exit(2)
    if page.lower() not in {p.lower() for p in PAGES}:
        cli._print_error(f"--page must be one of {', '.join(PAGES)}, not {page!r}")
        raise typer.Exit(2)
    with cli._errors(), Workspace(workspace) as ws:
        default = ws.output_dir / ("personas-png" if fmt == "png" else f"personas.{fmt}")
        target = to or default
        if fmt == "png":
            docs = [ex.find_persona(ws, persona)] if persona else ex.load_personas(ws)
            if len(docs) == 1 and target.suffix == ".png":
                paths = [target]
            else:
                target.mkdir(parents=True, exist_ok=True)
                paths = [target / f"{d['slug']}.png" for d in docs]
            for doc, path in zip(docs, paths, strict=True):
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(ex.to_png(ws, doc["persona_id"], page=page))
        else:
            data = {
                "pdf": lambda: ex.to_pdf(ws, persona, page=page),
                "html": lambda: ex.to_html(ws, persona, page=page),
                "csv": lambda: ex.to_csv(ws),
                "json": lambda: ex.to_json(ws, persona),
                "md": lambda: ex.to_markdown(ws, persona),
            }[fmt]()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            paths = [target]
    for path in paths:
        cli.console.print(f"wrote {escape(str(path))}", highlight=False)
