"""``personify serve`` and ``personify keys create|list|revoke``: the event collection API."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from personify.config import CONFIG_FILE, load_config
from personify.events import INBOX_GLOB, KeyStore

keys_app = typer.Typer(
    help="Write keys for the event API: create (shown once), list, revoke.",
    no_args_is_help=True,
)


def _cli() -> ModuleType:
    from personify import cli  # the main CLI module owns the consoles and error handling

    return cli


WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace", "-w", help="Workspace folder (default: $PERSONIFY_WORKSPACE or '.')"
    ),
]


def _workspace(path: Path | None) -> Path:
    from personify.workspace import default_workspace_dir

    ws = path if path is not None else default_workspace_dir()
    load_config(ws / CONFIG_FILE)  # a workspace, not any folder
    return ws


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. 'web shop'")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Create a write key and print it: it is shown this once and stored only as a hash."""
    cli = _cli()
    with cli._errors():
        record, key = KeyStore(_workspace(workspace)).create(name)
    cli.err_console.print(
        Text(f"Created write key {record.key_id} ({name}). Copy it now, it is not shown again:")
    )
    # The key alone on stdout, so scripts can capture it.
    typer.echo(key)


@keys_app.command("list")
def list_(workspace: WorkspaceOpt = None) -> None:
    """The write keys: id, name, created, revoked (never the keys themselves)."""
    cli = _cli()
    with cli._errors():
        found = KeyStore(_workspace(workspace)).list()
    if not found:
        cli.console.print("No write keys (create one with 'personify keys create NAME').")
        return
    table = Table("id", "name", "created", "status")
    for k in found:
        table.add_row(
            k.key_id,
            Text(k.name),
            k.created_at,
            f"revoked {k.revoked_at}" if k.revoked_at else "active",
        )
    cli.console.print(table)


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (as in 'keys list')")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Revoke a write key; a running server refuses it from its next request."""
    cli = _cli()
    with cli._errors():
        record = KeyStore(_workspace(workspace)).revoke(key_id)
    cli.console.print(Text(f"Revoked write key {record.key_id} ({record.name})."))


def serve(
    workspace: WorkspaceOpt = None,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8080,
    move_interval: Annotated[
        float, typer.Option(help="Seconds between moves of logged events into events/inbox/")
    ] = 5.0,
) -> None:
    """Collect events over the Segment HTTP API into the workspace (docs/events.md)."""
    from personify.events.server import serve as run_server

    cli = _cli()
    with cli._errors():
        ws = _workspace(workspace)
        config = load_config(ws / CONFIG_FILE)
        if not any(s.kind == "events" and s.path == INBOX_GLOB for s in config.sources.values()):
            cli.err_console.print(
                Text(
                    f"Note: no source of kind 'events' reads {INBOX_GLOB!r}; add one to "
                    f"{CONFIG_FILE} so 'personify ingest' loads the collected events."
                )
            )
        if not KeyStore(ws).list():
            cli.err_console.print(Text("Note: no write keys yet: 'personify keys create NAME'."))
    run_server(ws, host=host, port=port, move_interval=move_interval)
