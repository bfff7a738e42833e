"""``personify users add|remove|list|password|token|revoke-token``: the web app's users."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from personify.config import CONFIG_FILE, load_config
from personify.web.users import UserStore

users_app = typer.Typer(
    help="Users of the web app (viewer, analyst, admin) and their API tokens.",
    no_args_is_help=True,
)


def _cli() -> ModuleType:
    from personify import cli

    return cli


WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace", "-w", help="Workspace folder (default: $PERSONIFY_WORKSPACE or '.')"
    ),
]
StdinOpt = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input"
    ),
]


def _store(path: Path | None) -> UserStore:
    from personify.workspace import default_workspace_dir

    ws = path if path is not None else default_workspace_dir()
    load_config(ws / CONFIG_FILE)  # a workspace, not any folder
    return UserStore(ws)


def _password(from_stdin: bool) -> str:
    """Prompted twice (hidden) at a terminal; else the first line of stdin. Never a default."""
    if from_stdin or not sys.stdin.isatty():
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        if not password:
            raise typer.BadParameter("no password on standard input")
        return password
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, . _ @ -)")],
    role: Annotated[str, typer.Option(help="viewer, analyst or admin")] = "viewer",
    password_stdin: StdinOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Add a user; the password is asked for (or read from stdin), never defaulted."""
    cli = _cli()
    with cli._errors():
        store = _store(workspace)
        user = store.add(name, role, _password(password_stdin))
    cli.console.print(Text(f"Added {user.role} {user.name}."))


@users_app.command("remove")
def remove(
    name: Annotated[str, typer.Argument(help="User name")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Remove a user and their API tokens; a running server refuses them within a second."""
    cli = _cli()
    with cli._errors():
        user = _store(workspace).remove(name)
    cli.console.print(Text(f"Removed {user.role} {user.name}."))


@users_app.command("list")
def list_(workspace: WorkspaceOpt = None) -> None:
    """The users, their roles and API token ids (never a hash)."""
    cli = _cli()
    with cli._errors():
        found = _store(workspace).list()
    if not found:
        cli.console.print(
            "No users (add the first admin: 'personify users add NAME --role admin')."
        )
        return
    table = Table("user", "role", "created", "API tokens")
    for u in found:
        tokens = ", ".join(f"{t['id']} ({t['name']})" for t in u.tokens) or "-"
        table.add_row(Text(u.name), u.role, u.created_at, Text(tokens))
    cli.console.print(table)


@users_app.command("password")
def password(
    name: Annotated[str, typer.Argument(help="User name")],
    password_stdin: StdinOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Set a user's password (asked for, or read from stdin)."""
    cli = _cli()
    with cli._errors():
        _store(workspace).set_password(name, _password(password_stdin))
    cli.console.print(Text(f"Password of {name} changed."))


@users_app.command("token")
def token(
    name: Annotated[str, typer.Argument(help="The user the token acts as")],
    purpose: Annotated[str, typer.Option("--name", help="What the token is for")] = "script",
    workspace: WorkspaceOpt = None,
) -> None:
    """Create an API token (a bearer token for /api/v1/): shown once, stored as a hash."""
    cli = _cli()
    with cli._errors():
        record, secret = _store(workspace).create_token(name, purpose)
    cli.err_console.print(
        Text(f"Created API token {record.token_id} for {name}. Copy it now, it is not shown again:")
    )
    typer.echo(secret)  # alone on stdout, for scripts


@users_app.command("revoke-token")
def revoke_token(
    token_id: Annotated[str, typer.Argument(help="The token's id (as in 'users list')")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Revoke an API token."""
    cli = _cli()
    with cli._errors():
        record = _store(workspace).revoke_token(token_id)
    cli.console.print(Text(f"Revoked API token {record.token_id} of {record.user}."))
