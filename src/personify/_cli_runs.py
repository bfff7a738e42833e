"""``personify segments compare|assign``: two runs compared, later arrivals placed."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from personify.workspace import Workspace, default_workspace_dir

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


def _cli() -> ModuleType:
    from personify import cli

    return cli


def _ids(ids: tuple[int, ...]) -> str:
    return ", ".join(str(i) for i in ids) or "-"


def _money(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


def compare(
    workspace: WorkspaceOpt,
    run_a: Annotated[
        str | None,
        typer.Argument(
            help="The earlier run (id or a unique prefix; default: the one before last)"
        ),
    ] = None,
    run_b: Annotated[str | None, typer.Argument(help="The later run (default: the latest)")] = None,
) -> None:
    """Compare two runs: which segments persist, split, merge, vanish or are new."""
    from personify.errors import WorkspaceError
    from personify.segments._runs import runs
    from personify.segments.compare import compare_runs

    cli = _cli()
    with cli._errors(), Workspace(workspace) as ws:
        if run_a is None or run_b is None:
            stored = [str(r["run_id"]) for r in runs(ws)]
            if len(stored) < 2:
                raise WorkspaceError(
                    f"compare needs two segmentation runs; the workspace has {len(stored)}"
                )
            run_a, run_b = (stored[1], stored[0]) if run_a is None else (run_a, stored[0])
        c = compare_runs(ws, run_a, run_b)
    cli.console.print(
        Text(
            f"{c.run_a} ({len(c.segments_a)} segments, {c.persons_a:,} persons) -> "
            f"{c.run_b} ({len(c.segments_b)} segments, {c.persons_b:,} persons); "
            f"{c.shared_persons:,} persons in both, matched by {c.basis}"
        )
    )
    table = Table(
        "event",
        "before",
        "after",
        "Jaccard",
        "centroid distance",
        "persons",
        "revenue per person",
        title=Text(f"{c.run_a} -> {c.run_b}"),
    )
    for t in c.transitions:
        table.add_row(
            t.event,
            _ids(t.before),
            _ids(t.after),
            "-" if t.jaccard is None else f"{t.jaccard:.2f}",
            "-" if t.distance is None else f"{t.distance:.2f}",
            f"{t.size_before:,} -> {t.size_after:,}",
            f"{_money(t.avg_revenue_before)} -> {_money(t.avg_revenue_after)}",
        )
    cli.console.print(table)
    events = ", ".join(f"{n} {e}" for e, n in c.events().items() if n)
    cli.console.print(escape(events))


def assign(
    workspace: WorkspaceOpt,
    run: Annotated[
        str | None, typer.Argument(help="The run whose segments to use (default: the latest)")
    ] = None,
) -> None:
    """Place persons who arrived after a run in its nearest segment, without refitting."""
    from personify.segments.arrivals import assign_arrivals

    cli = _cli()
    with cli._errors(), Workspace(workspace) as ws, cli._progress("arrivals") as progress:
        r = assign_arrivals(ws, run, progress=progress)
    cli.console.print(
        f"{r.arrivals:,} persons are not in run {escape(r.run_id)}: {r.assigned:,} placed"
        + (f", {r.unassigned:,} without any attribute to place them by" if r.unassigned else "")
        + f" (the rule puts {r.agreement:.1%} of the run's own members back in their segment)"
    )
    if r.by_segment:
        table = Table("segment", "new persons", title="Later arrivals")
        for s, n in r.by_segment.items():
            table.add_row(str(s), f"{n:,}")
        cli.console.print(table)


def add_run_commands(app: typer.Typer) -> None:
    app.command()(compare)
    app.command()(assign)
