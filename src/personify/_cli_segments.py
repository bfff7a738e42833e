"""``personify segments``: fit and summarise; ``personify segments explain SEGMENT``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from personify.errors import PersonifyError
from personify.workspace import Workspace

segments_app = typer.Typer(
    help="Segment persons, rank the segments by value, explain one.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def _cli() -> Any:
    from personify import cli

    return cli


def _fmt(x: Any, kind: str = "num") -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "-"
    if kind == "pct":
        return f"{100 * float(x):.0f}%"
    if kind == "money":
        return f"{float(x):,.0f}"
    return f"{float(x):.2f}"


@segments_app.callback()
def segments(
    ctx: typer.Context,
    workspace: Annotated[
        Path | None, typer.Option("--workspace", "-w", help="Workspace folder")
    ] = None,
) -> None:
    """Segment persons (fit on a sample, assign all in the engine) and print a summary."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = workspace
        return
    cli = _cli()
    with cli._errors(), Workspace(workspace) as ws:
        r = cli._stage(ws, "segments")
        print_summary(ws, r.run_id)


def print_summary(ws: Workspace, run_id: str) -> None:
    console = _cli().console
    run = ws.engine.fetch_df("SELECT * FROM segment_runs WHERE run_id = ?", [run_id]).iloc[0]
    evidence = json.loads(run["selection"]) if run.get("selection") else {}
    console.print(
        f"run {run_id}: {escape(str(run.get('method') or 'kmeans'))}, k={int(run['k'])}, "
        f"stability ARI {_fmt(run.get('stability'))}, silhouette {_fmt(run['silhouette'])}, "
        f"{int(run.get('customers') or 0):,} {escape(evidence.get('population', 'persons'))}"
        + (f", {int(run['unassigned']):,} outliers unassigned" if run.get("unassigned") else "")
    )
    if evidence.get("reason"):
        console.print(f"k chosen by {escape(evidence['reason'])}", style="dim")
    sel = Table(title="Candidates")
    for col in ("k", "silhouette", "BIC", "stability ARI", ""):
        sel.add_column(col, justify="right")
    for row in evidence.get("selection", []):
        sel.add_row(
            str(row["k"]),
            _fmt(row.get("silhouette")),
            "-" if row.get("bic") is None else f"{row['bic']:,.0f}",
            _fmt(row.get("stability")),
            "chosen" if row.get("chosen") else "",
        )
    console.print(sel)
    weights = json.loads(run["weights"]) if run.get("weights") else {}
    scaling = json.loads(run["scaling"])
    counts: dict[str, int] = {}
    for f in scaling.values():
        counts[f.get("group", "?")] = counts.get(f.get("group", "?"), 0) + 1
    console.print(
        "Inputs by group (weight, inputs): "
        + ", ".join(f"{escape(g)} {w:g} ({counts.get(g, 0)})" for g, w in sorted(weights.items())),
        style="dim",
    )
    segs = ws.engine.fetch_df(
        "SELECT * FROM segments WHERE run_id = ? ORDER BY segment_id", [run_id]
    )
    attrs = _top_attributes(ws, run_id, 3)
    table = Table(title="Segments")
    for col in (
        "segment",
        "tier",
        "customers",
        "share",
        "revenue",
        "CLV",
        "churn",
        "new",
        "distinguished by",
    ):
        table.add_column(col, justify="left" if col in ("tier", "distinguished by") else "right")
    for s in segs.to_dict("records"):
        sid = int(s["segment_id"])
        table.add_row(
            str(sid),
            escape(str(s.get("tier") or ("negative" if s["negative"] else ""))),
            f"{int(s['size']):,}",
            _fmt(s["share"], "pct"),
            _fmt(s["revenue_share"], "pct"),
            _fmt(s.get("clv"), "money"),
            _fmt(s.get("churn_risk"), "pct"),
            _fmt(s.get("growth"), "pct"),
            escape("; ".join(attrs.get(sid, []))),
        )
    console.print(table)
    from personify.segments.charts import folder, read_manifest

    charts = read_manifest(ws.output_dir)
    if charts and charts.get("run_id") == run_id:
        where = folder(ws)
        console.print(
            f"Charts in {escape(str(where))}: "
            + ", ".join(escape(str(f)) for f in charts.get("files", {}).values())
            + f" (the map: {escape(str(charts.get('map', {}).get('projection', '')))})"
        )


def _top_attributes(ws: Workspace, run_id: str, top: int) -> dict[int, list[str]]:
    if not ws.engine.has_table("segment_attributes"):
        return {}
    df = ws.engine.fetch_df(
        """SELECT segment_id, label, effect_size FROM segment_attributes
        WHERE run_id = ? AND distinguishing ORDER BY segment_id, abs(effect_size) DESC, label""",
        [run_id],
    )
    out: dict[int, list[str]] = {}
    for r in df.itertuples():
        items = out.setdefault(int(r.segment_id), [])
        if len(items) < top:
            items.append(f"{r.label} {'+' if r.effect_size > 0 else '-'}{abs(r.effect_size):.1f}")
    return out


@segments_app.command("explain")
def explain(
    ctx: typer.Context,
    segment: Annotated[int, typer.Argument(help="Segment number (1 is the most valuable)")],
    workspace: Annotated[
        Path | None, typer.Option("--workspace", "-w", help="Workspace folder")
    ] = None,
    top: Annotated[int, typer.Option(help="Attributes to show")] = 12,
) -> None:
    """Why a segment is what it is: value, tier and the attributes that distinguish it."""
    cli = _cli()
    console = cli.console
    with cli._errors(), Workspace(workspace or ctx.obj) as ws:
        run = ws.segments.latest_run()
        run_id = run["run_id"]
        seg = ws.engine.fetch_df(
            "SELECT * FROM segments WHERE run_id = ? AND segment_id = ?", [run_id, segment]
        )
        if seg.empty:
            raise PersonifyError(f"run {run_id} has no segment {segment}")
        s = seg.iloc[0].to_dict()
        console.print(
            f"Segment {segment} of run {run_id}: {escape(str(s.get('tier') or ''))}, "
            f"{int(s['size']):,} persons ({_fmt(s['share'], 'pct')}), "
            f"{_fmt(s['revenue_share'], 'pct')} of revenue"
        )
        if s.get("tier_reason"):
            console.print(f"Why {escape(str(s['tier']))}: {escape(str(s['tier_reason']))}")
        reasons = s.get("negative_reasons")
        for r in [] if reasons is None else list(reasons):
            console.print(f"  - {escape(str(r))}")
        table = Table(title="Distinguishing attributes (Benjamini-Hochberg q < 0.01, |d| >= 0.2)")
        for col in ("attribute", "segment", "rest", "Cohen's d", "q-value"):
            table.add_column(col, justify="left" if col == "attribute" else "right")
        df = ws.engine.fetch_df(
            """SELECT * FROM segment_attributes WHERE run_id = ? AND segment_id = ?
            AND distinguishing ORDER BY abs(effect_size) DESC, label LIMIT ?""",
            [run_id, segment, top],
        )
        for r in df.itertuples():
            table.add_row(
                escape(str(r.label)),
                f"{r.segment_mean:.3g}",
                f"{r.rest_mean:.3g}",
                f"{r.effect_size:+.2f}",
                f"{r.q_value:.1e}",
            )
        console.print(table)
