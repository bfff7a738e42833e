"""``personify quarantine list|show|retry``: the rows a load rejected, and loading them again."""

from __future__ import annotations

from types import ModuleType
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from personify.workspace import Workspace

quarantine_app = typer.Typer(
    help="Rows a load rejected: list them by reason, show examples, load them again once fixed.",
    no_args_is_help=True,
)


def _cli() -> ModuleType:
    # The main CLI module owns the consoles and the error handling.
    from personify import cli

    return cli


@quarantine_app.command("list")
def list_(
    workspace: Annotated[str | None, typer.Option("--workspace", "-w")] = None,
    source: Annotated[str | None, typer.Option(help="Only this source")] = None,
) -> None:
    """Quarantined rows counted by source and reason."""
    from personify.ingest import quarantine

    cli = _cli()
    with cli._errors(), Workspace(workspace) as ws:
        groups = quarantine.summary(ws, source=source)
    if not groups:
        cli.console.print("Nothing is in quarantine.")
        return
    table = Table("source", "reason", "rows", "first line", title="Quarantine")
    for g in groups:
        table.add_row(escape(g.source), escape(g.reason), f"{g.rows:,}", str(g.first_line or ""))
    cli.console.print(table)


@quarantine_app.command()
def show(
    source: Annotated[str, typer.Argument(help="The source whose rows to show")],
    workspace: Annotated[str | None, typer.Option("--workspace", "-w")] = None,
    column: Annotated[str | None, typer.Option(help="Only rows failing this column")] = None,
    limit: Annotated[int, typer.Option(help="How many rows")] = 20,
    reveal: Annotated[bool, typer.Option(help="Show personal fields unmasked")] = False,
) -> None:
    """Examples of a source's quarantined rows: file, row, line, reason and the record."""
    from personify.ingest import quarantine

    cli = _cli()
    with cli._errors(), Workspace(workspace) as ws:
        found = quarantine.rows(ws, source, column=column, limit=limit, reveal=reveal)
    if not found:
        cli.console.print(f"No quarantined rows for {escape(source)}.")
        return
    for r in found:
        where = (
            f"{r.file}" + (f" row {r.row}" if r.row else "") + (f" line {r.line}" if r.line else "")
        )
        cli.console.print(f"[bold]{escape(where)}[/]: {escape(r.reason)}", highlight=False)
        cli.console.print(f"  {escape(r.record)}", highlight=False, soft_wrap=True)


@quarantine_app.command()
def retry(workspace: Annotated[str | None, typer.Option("--workspace", "-w")] = None) -> None:
    """Load again the sources with quarantined rows, after fixing the mapping or the files."""
    from personify.ingest import quarantine

    cli = _cli()
    with cli._errors(), Workspace(workspace) as ws:
        result = quarantine.retry(ws)
    table = Table("source", "quarantined before", "now", "loaded", title="Retry")
    for name, before in result.before.items():
        load = next(s for s in result.ingest.sources if s.source == name)
        loaded = (
            "unchanged: fix the file or the mapping first"
            if load.mode == "unchanged"
            else f"{load.rows_loaded:,}"
        )
        table.add_row(escape(name), f"{before:,}", f"{result.after[name]:,}", loaded)
    cli.console.print(table)
