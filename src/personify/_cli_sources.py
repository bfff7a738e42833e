"""``personify sources ...``: commands that help write a workspace's ``sources:``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
import yaml
from pydantic import ValidationError

from personify.config import CONFIG_FILE, LocaleConfig, read_yaml
from personify.errors import PersonifyError

sources_app = typer.Typer(
    help="Help with the sources of personify.yaml.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@sources_app.command("suggest")
def suggest(
    file: Annotated[Path, typer.Argument(help="The data file (CSV, Parquet, JSON lines, ...)")],
    name: Annotated[
        str | None, typer.Option(help="The source's name (default: from the file)")
    ] = None,
    kind: Annotated[str | None, typer.Option(help="Use this kind instead of guessing it")] = None,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            help="Workspace whose locale settles dates and to which the path is made relative",
        ),
    ] = None,
    sample_rows: Annotated[int, typer.Option(min=1, help="Rows read to guess from")] = 5000,
) -> None:
    """Print a source entry for FILE to paste under 'sources:' in personify.yaml."""
    from personify.ingest.suggest import suggest_source, to_yaml

    locale, note = _locale(workspace)
    try:
        suggestion = suggest_source(
            file,
            name=name,
            kind=kind,
            sample_rows=sample_rows,
            locale=locale,
            relative_to=workspace,
        )
    except PersonifyError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None
    if note:
        suggestion.notes.append(note)
    # Plain text on purpose: file content ('[bold]' in a column name) is no markup.
    sys.stdout.write(to_yaml(suggestion))


def _locale(workspace: Path | None) -> tuple[LocaleConfig | None, str | None]:
    """The workspace's locale, if it has a readable one; a config's other problems don't matter."""
    if workspace is None or not (workspace / CONFIG_FILE).is_file():
        return None, None
    try:
        data = read_yaml((workspace / CONFIG_FILE).read_text(encoding="utf-8")) or {}
        return LocaleConfig.model_validate(data.get("locale") or {}), None
    except (yaml.YAMLError, ValidationError, AttributeError, OSError, UnicodeDecodeError):
        return None, f"the locale in {workspace / CONFIG_FILE} could not be read: not used"


@sources_app.command("check")
def check(
    workspace: Annotated[
        Path | None, typer.Option("--workspace", "-w", help="Workspace folder")
    ] = None,
    source: Annotated[list[str] | None, typer.Option(help="Only these sources")] = None,
) -> None:
    """Check each source's mapping against its files, as a load would, loading nothing."""
    from personify import cli
    from personify.workspace import Workspace

    with cli._errors(), Workspace(workspace) as ws:
        cli._print_source_checks(ws, source)
