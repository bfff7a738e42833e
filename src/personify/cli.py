"""The ``personify`` command line: a thin layer over :class:`personify.Workspace`."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from personify.config import CONFIG_FILE, load_config
from personify.errors import PersonifyError, WorkspaceError
from personify.progress import ProgressFn
from personify.workspace import Workspace, default_workspace_dir

app = typer.Typer(
    help="Personify: customer profiles, segments and personas from first-party data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

# Customer data, file names and config values are printed as Text, never as Rich
# markup: a value such as "[/]" would crash the CLI and "[link=...]" make a link.


def _print_error(message: object) -> None:
    err_console.print(Text.assemble(("Error: ", "bold red"), str(message)), highlight=False)


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


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False)],
    )


@contextmanager
def _errors() -> Iterator[None]:
    """Personify's own errors end the command with their message, not a traceback."""
    try:
        yield
    except PersonifyError as exc:
        _print_error(exc)
        raise typer.Exit(1) from None


@contextmanager
def _progress(title: str) -> Iterator[ProgressFn]:
    """A Rich progress bar fed by the library's ``progress(step, fraction)`` calls."""
    with Progress(
        TextColumn("[bold]{task.fields[title]}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.description}", markup=False),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task("", total=1.0, title=title)

        def update(step: str, fraction: float) -> None:
            bar.update(task, completed=fraction, description=step)

        yield update
        bar.update(task, completed=1.0, description="done")


def _stage(ws: Workspace, name: str) -> Any:
    with _progress(name) as progress:
        return getattr(ws, name).run(progress=progress)


# -- workspace commands -----------------------------------------------------------------------
@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create the workspace in")],
    force: Annotated[bool, typer.Option(help="Replace an existing personify.yaml")] = False,
) -> None:
    """Create a workspace: a commented personify.yaml and an empty database."""
    with _errors():
        config_path = directory / CONFIG_FILE
        if config_path.exists() and not force:
            raise WorkspaceError(f"{config_path} already exists (use --force to replace it)")
        ws = Workspace.init(directory, overwrite=force)
        console.print(
            Text.assemble(
                "Created workspace in ", (str(directory), "bold"), f": edit {config_path}"
            )
        )
        ws.close()


@app.command()
def check(
    workspace: WorkspaceOpt,
    files: Annotated[
        bool, typer.Option(help="Also check every source against its files (as a load would)")
    ] = True,
) -> None:
    """Validate personify.yaml, then each source against its files; every problem at once."""
    with _errors():
        config = load_config(workspace / CONFIG_FILE)
        if not files or not config.sources:
            console.print(f"[green]OK[/]: {len(config.sources)} source(s) configured")
            return
        with Workspace(workspace) as ws:
            _print_source_checks(ws)


def _print_source_checks(ws: Workspace, names: list[str] | None = None) -> None:
    from personify.ingest.check import check_sources

    results = check_sources(ws, names)
    table = Table("source", "rows", "bad rows", "problems", title="Sources checked against files")
    for r in results:
        if r.error:
            problems = f"[red]{escape(r.error)}[/]"
        else:
            lines = [
                f"{c.column}: {c.bad_rows:,} bad"
                + (f" ({'; '.join(c.examples)})" if c.examples else "")
                for c in r.columns
            ]
            if r.unreadable_lines:
                lines.append(f"{r.unreadable_lines:,} unreadable line(s)")
            if r.unused_fields:
                lines.append(
                    "not used: "
                    + ", ".join(r.unused_fields)
                    + " (map or declare under attributes: to use)"
                )
            problems = escape("\n".join(lines)) if lines else "[green]OK[/]"
        table.add_row(
            escape(r.source), f"{r.rows:,}", f"{r.bad_rows + r.unreadable_lines:,}", problems
        )
    console.print(table)
    if any(r.error for r in results):
        raise typer.Exit(1)


@app.command()
def status(workspace: WorkspaceOpt) -> None:
    """List the workspace's tables and their row counts."""
    with _errors(), Workspace(workspace) as ws:
        table = Table("table", "rows")
        for name in ws.tables():
            table.add_row(Text(name), f"{ws.engine.count(name):,}")
        console.print(table)


# -- pipeline stages --------------------------------------------------------------------------
@app.command()
def ingest(
    workspace: WorkspaceOpt,
    source: Annotated[list[str] | None, typer.Option(help="Load only these sources")] = None,
    full_refresh: Annotated[
        bool, typer.Option(help="Rebuild the sources from their files instead of loading changes")
    ] = False,
) -> None:
    """Load the configured sources (only what changed); bad rows go to the quarantine table."""
    with _errors(), Workspace(workspace) as ws, _progress("ingest") as progress:
        result = ws.ingest.run(sources=source, full_refresh=full_refresh, progress=progress)
    _print_ingest(result)


def _print_ingest(result: Any) -> None:
    table = Table(
        "source",
        "load",
        "rows loaded",
        "replaced",
        "deleted",
        "quarantined",
        title=f"Load {result.batch_id}",
    )
    for s in result.sources:
        table.add_row(
            Text(s.source),
            s.mode,
            f"{s.rows_loaded:,}",
            f"{s.rows_replaced:,}",
            f"{s.rows_deleted:,}",
            f"{s.rows_quarantined:,}",
        )
    console.print(table)
    for s in result.sources:
        for example in s.examples[:3]:
            console.print(Text.assemble("  ", ("quarantined", "yellow"), " ", example))


identity_app = typer.Typer(
    help="Resolve identities: link source records into persons (explain: why).",
    invoke_without_command=True,
)
app.add_typer(identity_app, name="identity")


@identity_app.callback()
def identity(ctx: typer.Context, workspace: WorkspaceOpt) -> None:
    """Resolve identities: link source records into persons."""
    if ctx.invoked_subcommand is not None:
        return
    with _errors(), Workspace(workspace) as ws:
        r = _stage(ws, "identity")
    console.print(
        f"{r.records:,} records -> {r.persons:,} persons ({r.hubs} hub identifiers, "
        f"{r.model_links:,} model links, {r.model_rejected} dropped by the size guard)"
    )


@identity_app.command("explain")
def identity_explain(
    identifier: Annotated[str, typer.Argument(help="A person id, record id or SOURCE:RECORD_ID")],
    workspace: WorkspaceOpt,
    reveal: Annotated[bool, typer.Option(help="Show identifier values unmasked")] = False,
) -> None:
    """Why records were linked into one person: keys, model evidence, rejected links."""
    with _errors(), Workspace(workspace) as ws:
        e = ws.identity.explain(identifier)
    console.print(
        Text(f"{e.person_id}: {e.records:,} records from ")
        + Text(", ".join(f"{s} ({n:,})" for s, n in e.sources.items()))
    )
    ids = Table("key space", "value", "links?", title="Identifiers")
    for i in e.identifiers:
        value = str(i["id_value"]) if reveal else _mask_value(str(i["id_value"]))
        ids.add_row(Text(i["id_type"]), Text(value), Text(i["hub_reason"] or "yes"))
    console.print(ids)
    recs = Table("source", "record", "rule", "weight", title=f"Records (first {len(e.links)})")
    for r in e.links:
        recs.add_row(
            Text(r["source"]),
            Text(str(r["record_id"])),
            Text(r["rule"]),
            f"{r['match_weight']:.2f}",
        )
    console.print(recs)
    if e.model_links:
        model = Table(
            "exact persons", "probability", "weight", "evidence", "status", title="Model links"
        )
        for m in e.model_links:
            evidence = ", ".join(f"{k} {v}" for k, v in m["evidence"].items() if v != "null")
            model.add_row(
                Text(f"{m['person_l']} - {m['person_r']}"),
                f"{m['match_probability']:.4f}",
                f"{m['match_weight']:.2f}",
                Text(evidence),
                Text(m["status"]),
            )
        console.print(model)


def _mask_value(value: str) -> str:
    """An identifier as its first two characters and its length (and an e-mail's domain)."""
    local, at, domain = value.partition("@")
    return f"{local[:2]}{'*' * max(0, len(local) - 2)}{at}{domain}"


@app.command()
def profiles(workspace: WorkspaceOpt) -> None:
    """Build one profile per person."""
    with _errors(), Workspace(workspace) as ws:
        r = _stage(ws, "profiles")
    console.print(f"{r.persons:,} profiles, {r.customers:,} with purchases (as of {r.as_of})")
    _print_models(r)


def _print_models(r: Any) -> None:
    models = getattr(r, "models", {})
    for name, m in models.items():
        if m.metric == "r2":
            continue  # inferred traits: one summary line below
        console.print(
            f"{name} model of {m.target}: {m.folds}-fold CV {m.metric_label} {m.cv_score:.3f} "
            f"({m.baseline} {m.baseline_cv_score:.3f}) on {m.persons:,} persons"
        )
    traits = [m for m in models.values() if m.metric == "r2"]
    if traits:
        settings = getattr(r, "min_r2", None)
        kept = [m for m in traits if settings is None or m.cv_score >= settings]
        scores = sorted(m.cv_score for m in traits)
        console.print(
            f"traits inferred from behaviour: {len(kept)} of {len(traits)} survey scales kept "
            f"(CV R² {scores[0]:.2f} to {scores[-1]:.2f}; profile_models has each)"
        )
    acquisition = getattr(r, "acquisition", None)
    if acquisition is not None:
        rule = acquisition.rule or "none the data supports"
        console.print(
            f"acquisition cost by rule {rule}: {acquisition.unattributed:,.2f} of "
            f"{acquisition.spend:,.2f} spend reached no acquired customer"
        )


from personify._cli_personas import personas_app  # noqa: E402 (after the helpers it uses)

app.add_typer(personas_app, name="personas")


@app.command()
def run(workspace: WorkspaceOpt) -> None:
    """Run the whole pipeline: ingest, identity, profiles, segments, personas."""
    with _errors(), Workspace(workspace) as ws:
        _run_all(ws)


def _duration(text: str) -> dt.timedelta:
    m = re.fullmatch(r"\s*(\d+)\s*([hdw])\s*", text)
    if not m:
        raise typer.BadParameter("write a number and h, d or w: 12h, 90d, 13w")
    n, unit = int(m.group(1)), m.group(2)
    return (
        dt.timedelta(hours=n) if unit == "h" else dt.timedelta(days=n * (7 if unit == "w" else 1))
    )


@app.command()
def refresh(
    workspace: WorkspaceOpt,
    if_older_than: Annotated[
        str | None,
        typer.Option(help="Do nothing while the personas are younger than this (90d, 13w, 12h)"),
    ] = None,
) -> None:
    """Run the pipeline on what changed and report how the personas drifted (docs/web.md)."""
    from personify import refresh as drift_mod

    limit = _duration(if_older_than) if if_older_than else None
    with _errors(), Workspace(workspace) as ws:
        current = drift_mod.age(ws)
        if limit is not None and current is not None and current < limit:
            days = current.total_seconds() / 86400
            console.print(
                f"Personas are {days:.1f} days old (younger than {if_older_than}): skipped."
            )
            return
        k = drift_mod.pin_k(ws)
        if k is not None:
            console.print(f"Refreshing the {k} segments of the current personas (segments.k).")
        _run_all(ws)
        report, out = drift_mod.write_latest(ws)
    _print_drift(report, out)


def _print_drift(report: dict[str, Any] | None, out: Path) -> None:
    if report is None:
        console.print("First persona run: no drift to report yet.")
        return
    if report["segment_run"] == report["previous_run"]:
        console.print("Nothing changed: the same segments as before.")
    for m in report["matched"]:
        c = m["customers"]
        change = c["change"] or 0
        console.print(
            Text(
                f"{m['persona']['name']} ({m['persona']['title']}): {c['after']:,.0f} customers "
                f"({change:+,.0f}), continues {m['previous']['name']} "
                f"(overlap {m['jaccard']:.0%})"
            )
        )
        for c in m.get("changes", []):
            if c["kind"] == "channel":
                text = (
                    f"  {c['channel']}: {c['before']:.0%} -> {c['after']:.0%} of the purchases "
                    "of the last quarter against the one before"
                )
            else:
                text = (
                    f"  {c['kind']}: {c['share_change']:+.1%} points of all customers "
                    f"({c['newcomers']:,} newcomers)"
                )
            console.print(Text(text))
    for p in report["new"]:
        console.print(Text(f"New: {p['name']} ({p['title']}), {p['customers']:,.0f} customers"))
    for p in report["vanished"]:
        console.print(Text(f"Vanished: {p['name']} ({p['title']})"))
    console.print(Text(f"Drift report: {out}"), soft_wrap=True)


def _run_all(ws: Workspace) -> None:
    timings: dict[str, float] = {}
    results: dict[str, Any] = {}
    for stage in Workspace.STAGES:
        start = time.perf_counter()
        results[stage] = _stage(ws, stage)
        timings[stage] = time.perf_counter() - start
    _print_ingest(results["ingest"])
    ident = results["identity"]
    console.print(f"Identity: {ident.records:,} records -> {ident.persons:,} persons")
    _print_models(results["profiles"])
    seg = results["segments"]
    console.print(
        f"Segments: {seg.method}, k={seg.k} (stability ARI {seg.stability or 0:.3f}, "
        f"silhouette {seg.silhouette:.3f}) over {seg.customers:,} {seg.population or 'persons'}"
    )
    _print_personas(results["personas"])
    console.print(
        "Stage times: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()), style="dim"
    )


def _print_personas(result: Any) -> None:
    table = Table("persona", "customers", "share of revenue", "in one line", title="Personas")
    for p in result.personas:
        name = Text(f"{p['name']}, {p['title']}")
        if p["negative"]:
            name.append(" (negative)", style="red")
        table.add_row(
            name,
            f"{p['size']['customers']:,}",
            "no revenue"
            if p["value"]["revenue_share"] is None
            else f"{p['value']['revenue_share']:.0%}",
            Text(str(p["tagline"])),  # it carries the config's attribute labels
        )
    console.print(table)
    for w in getattr(result, "withheld", []):
        console.print(
            f"Segment {w['segment_id']}: {w['customers']:,} customers, fewer than "
            f"personas.k_anonymity = {w['k']}: too small for a persona",
            style="yellow",
            highlight=False,
        )
    personas_dir = str(result.output_dir / "personas")
    console.print(Text.assemble("Persona JSON and Markdown: ", (personas_dir, "bold")))
    if result.report:
        console.print(Text.assemble("HTML report: ", (str(result.report), "bold")))


# -- the demo company -------------------------------------------------------------------------
@app.command("demo-data")
def demo_data(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write sources/ and truth/ into")],
    customers: Annotated[int, typer.Option(help="Number of people")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files)")] = 42,
    force: Annotated[bool, typer.Option(help="Overwrite a non-empty folder")] = False,
) -> None:
    """Generate the demo company's source files and its ground truth."""
    from personify.demo import generate_demo_company

    with _errors(), _progress("demo data") as progress:
        try:
            summary = generate_demo_company(
                out_dir, customers=customers, seed=seed, progress=progress, overwrite=force
            )
        except ValueError as exc:
            _print_error(exc)
            raise typer.Exit(1) from None
    table = Table("file", "rows", title=Text(f"Demo company in {out_dir}"))
    for name, rows in summary.rows.items():
        table.add_row(Text(name), f"{rows:,}")
    console.print(table)


# Bumped when the generator's output changes, so `personify demo` regenerates old data
# (2: phones in allocated UK mobile ranges).
DEMO_GENERATOR = 2
# The demo company is British: phones without +44 are UK numbers, money is pounds.
DEMO_LOCALE = {"country": "GB", "currency": "GBP", "language": "en"}


def demo_sources(data_dir: str) -> dict[str, Any]:
    """The demo company's sources block, pointing at ``data_dir``."""
    text = resources.files("personify").joinpath("templates/demo_sources.yaml").read_text()
    return yaml.safe_load(text.replace("{data}", data_dir))


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Folder for data and workspace")] = Path(
        "demo"
    ),
    customers: Annotated[int, typer.Option(help="Number of people")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed")] = 42,
    second_quarter: Annotated[
        bool,
        typer.Option(
            "--second-quarter",
            help="Run on the company as of 2025-10-01, then refresh on its next quarter, "
            "which holds a planned shift, and report the drift (docs/demo-data.md)",
        ),
    ] = False,
) -> None:
    """Generate the demo company (if needed), build a workspace on it and run everything."""
    from personify.demo import Shift, generate_demo_company

    data, ws_dir = directory / "data", directory / "workspace"
    stamp = data / "demo.json"
    wanted: dict[str, Any] = {"customers": customers, "seed": seed, "generator": DEMO_GENERATOR}
    if second_quarter:
        wanted["shift"] = asdict(Shift())
    with _errors():
        if stamp.is_file() and json.loads(stamp.read_text()) == wanted:
            console.print(
                Text.assemble(
                    "Reusing demo data in ",
                    (str(data), "bold"),
                    f" ({customers:,} people, seed {seed})",
                )
            )
        else:
            with _progress("demo data") as progress:
                generate_demo_company(
                    data,
                    customers=customers,
                    seed=seed,
                    progress=progress,
                    overwrite=True,
                    shift=Shift() if second_quarter else None,
                )
            stamp.write_text(json.dumps(wanted))
        if second_quarter:  # the workspace reads data/current: first quarter 1, then all
            _copy_sources(data / "quarter1" / "sources", data / "current")
            for old in ws_dir.glob("personify.duckdb*"):  # two runs, from a clean database
                old.unlink()
        ws = Workspace.init(
            ws_dir,
            sources=demo_sources("../data/current" if second_quarter else "../data/sources"),
            locale=DEMO_LOCALE,
            overwrite=True,
        )
        with ws:
            _run_all(ws)
        if second_quarter:
            from personify import refresh as drift_mod

            console.print(Text("\nThe next quarter arrives (2025-10-01 to 2025-12-31):", "bold"))
            _copy_sources(data / "sources", data / "current")
            with Workspace(ws_dir) as again:
                drift_mod.pin_k(again)
                _run_all(again)
                report, out = drift_mod.write_latest(again)
            _print_drift(report, out)
            console.print(Text(f"The planned shift: {data / 'truth' / 'shift.json'}"))
    _print_web_hint(ws_dir)


def _copy_sources(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.iterdir()):
        shutil.copyfile(f, dst / f.name)


def _print_web_hint(ws_dir: Path) -> None:
    """How to open the web app on a workspace (the last thing ``personify demo`` says)."""
    from personify.web.users import UserStore

    w = str(ws_dir)
    console.print(Text("\nOpen the personas in the web app:", style="bold"))
    if UserStore(ws_dir).has_admin():
        console.print(Text(f"  (users: personify users list -w {w})"), soft_wrap=True)
    else:
        console.print(
            Text(f"  personify users add admin --role admin -w {w}   # asks for a password"),
            soft_wrap=True,
        )
    console.print(Text(f"  personify serve -w {w}"), soft_wrap=True)
    console.print(Text("  then open http://127.0.0.1:8080/ and log in (docs/web.md)"))


from personify._cli_quarantine import quarantine_app  # noqa: E402 - sub-apps use this module

app.add_typer(quarantine_app, name="quarantine")

from personify._cli_segments import segments_app  # noqa: E402
from personify._cli_sources import sources_app  # noqa: E402

app.add_typer(segments_app, name="segments")

app.add_typer(sources_app, name="sources")

from personify._cli_events import keys_app  # noqa: E402
from personify._cli_events import serve as _serve  # noqa: E402

app.add_typer(keys_app, name="keys")

from personify._cli_audiences import audiences_app  # noqa: E402
from personify._cli_runs import add_run_commands  # noqa: E402

add_run_commands(segments_app)  # compare, assign
app.add_typer(audiences_app, name="audiences")
app.command("serve")(_serve)

from personify._cli_users import users_app  # noqa: E402

app.add_typer(users_app, name="users")


def main() -> None:  # pragma: no cover - console-script entry point
    app()
