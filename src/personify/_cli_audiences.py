"""``personify audiences ...``: rule-based audiences (docs/audiences.md)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from personify.workspace import Workspace, default_workspace_dir

audiences_app = typer.Typer(
    help="Audiences: persons chosen by a rule over their profile (docs/audiences.md).",
    no_args_is_help=True,
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
RuleArg = Annotated[
    str, typer.Argument(help="A rule, e.g. 'clv > 500 and preferred_channel == \"app\"'")
]


def _cli() -> ModuleType:
    # The main CLI module owns the consoles and the error handling.
    from personify import cli

    return cli


def _share(share: float | None) -> str:
    return "-" if share is None else f"{share:.1%}"


@audiences_app.command()
def attributes(workspace: WorkspaceOpt) -> None:
    """The profile attributes a rule can use, with their types."""
    cli = _cli()
    with cli._errors(), Workspace(workspace) as ws:
        attrs = ws.audiences.attributes()
    table = Table("attribute", "type", "label", title="Rule attributes")
    for name, a in attrs.items():
        alias = f" (= {a.name})" if a.name != name else ""
        kind = a.type if a.type != "other" else f"{a.sql_type} (not usable)"
        table.add_row(escape(name + alias), kind, escape(a.label))
    cli.console.print(table)


@audiences_app.command()
def count(rule: RuleArg, workspace: WorkspaceOpt) -> None:
    """Count the persons a rule takes, without saving it."""
    cli = _cli()
    with cli._errors(), Workspace(workspace) as ws:
        c = ws.audiences.count(rule)
    cli.console.print(f"{c.persons:,} of {c.total:,} persons ({_share(c.share)})")


@audiences_app.command()
def add(
    name: Annotated[str, typer.Argument(help="The audience's name")],
    rule: RuleArg,
    workspace: WorkspaceOpt,
    replace: Annotated[bool, typer.Option(help="Replace an audience of that name")] = False,
) -> None:
    """Save a rule as a named audience (checked and counted first)."""
    cli = _cli()
    with cli._errors(), Workspace(workspace) as ws:
        a = ws.audiences.add(name, rule, replace=replace)
    cli.console.print(
        Text.assemble(
            "Saved ",
            (a.name, "bold"),
            f": {a.persons:,} of {a.total:,} persons ({_share(a.share)})",
        )
    )


@audiences_app.command("list")
def list_(workspace: WorkspaceOpt) -> None:
    """The saved audiences with their last count."""
    cli = _cli()
    with cli._errors(), Workspace(workspace) as ws:
        saved = ws.audiences.saved()
    if not saved:
        cli.console.print("No audience is saved yet (personify audiences add NAME RULE).")
        return
    table = Table("audience", "rule", "persons", "share", "counted", title="Audiences")
    for a in saved:
        table.add_row(
            escape(a.name),
            escape(a.rule),
            "-" if a.persons is None else f"{a.persons:,}",
            _share(a.share),
            "" if a.counted_at is None else f"{a.counted_at:%Y-%m-%d %H:%M}",
        )
    cli.console.print(table)


@audiences_app.command()
def show(
    name: Annotated[str, typer.Argument(help="A saved audience")],
    workspace: WorkspaceOpt,
    sample: Annotated[
        int, typer.Option(help="Also list this many persons (ids and the rule's attributes)")
    ] = 0,
) -> None:
    """Count a saved audience again and describe it in aggregate figures beside everyone's."""
    cli = _cli()
    with cli._errors(), Workspace(workspace) as ws:
        a = ws.audiences.refresh(name)
        summary = ws.audiences.summary(a.rule)
        members = ws.audiences.members(a.rule, limit=sample) if sample > 0 else None
    cli.console.print(Text.assemble((a.name, "bold"), ": ", a.rule))
    cli.console.print(f"{a.persons:,} of {a.total:,} persons ({_share(a.share)})")
    if summary.suppressed:
        from personify.segments.audiences import MIN_GROUP

        cli.console.print(f"No figures: fewer than {MIN_GROUP} persons, they would describe them.")
    elif summary.figures:
        table = Table("attribute", "audience", "everyone", title="Compared with everyone")
        for f in summary.figures:
            label = f.label if f.value is None else f"{f.label}: {f.value}"
            table.add_row(escape(label), _figure(f.audience, f), _figure(f.everyone, f))
        cli.console.print(table)
    if members is not None:
        _print_members(cli, members)


def _figure(x: float | None, f: Any) -> str:
    if x is None:
        return "-"
    if f.value is not None:
        return f"{x:.1%}"
    return f"{x:,.3f}" if abs(x) < 10 else f"{x:,.1f}"


def _print_members(cli: ModuleType, df: Any) -> None:
    table = Table(*[escape(str(c)) for c in df.columns], title=f"{len(df):,} persons")
    for row in df.itertuples(index=False):
        table.add_row(*[escape("" if v is None else str(v)) for v in row])
    cli.console.print(table)


@audiences_app.command()
def export(
    name: Annotated[str, typer.Argument(help="A saved audience")],
    to: Annotated[Path, typer.Option("--to", help="The file to write: .csv or .parquet")],
    workspace: WorkspaceOpt,
    attribute: Annotated[
        list[str] | None,
        typer.Option(
            "--attribute", "-a", help="An attribute to include (repeat; default: the rule's)"
        ),
    ] = None,
    file_format: Annotated[
        str | None, typer.Option("--format", help="csv or parquet (default: by the suffix)")
    ] = None,
) -> None:
    """Write an audience's person ids (and chosen attributes) to a CSV or Parquet file."""
    cli = _cli()
    with cli._errors(), Workspace(workspace) as ws:
        r = ws.audiences.export(name, to, attributes=attribute, file_format=file_format)
    cli.console.print(
        Text.assemble(
            f"Wrote {r.rows:,} persons ({', '.join(r.columns)}) to ", (str(r.path), "bold")
        )
    )


@audiences_app.command()
def remove(
    name: Annotated[str, typer.Argument(help="A saved audience")], workspace: WorkspaceOpt
) -> None:
    """Delete a saved audience."""
    cli = _cli()
    with cli._errors(), Workspace(workspace) as ws:
        ws.audiences.remove(name)
    cli.console.print(Text.assemble("Removed ", (name, "bold")))
