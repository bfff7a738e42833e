"""``personify users``: the first admin comes from the CLI, with a password never defaulted."""

from __future__ import annotations

import json
from pathlib import Path

from argon2 import PasswordHasher
from typer.testing import CliRunner

from personify import Workspace
from personify.cli import app
from personify.web.users import UserStore

runner = CliRunner()


def test_users_add_list_token_remove(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    w = str(tmp_path / "ws")
    added = runner.invoke(
        app, ["users", "add", "root", "--role", "admin", "-w", w], input="s3cret enough\n"
    )
    assert added.exit_code == 0, added.output
    stored = json.loads((tmp_path / "ws" / "web" / "users.json").read_text())["users"][0]
    assert stored["role"] == "admin"
    assert PasswordHasher().verify(stored["password"], "s3cret enough")  # argon2's own check
    assert UserStore(tmp_path / "ws").authenticate("root", "s3cret enough") is not None
    assert UserStore(tmp_path / "ws").authenticate("root", "s3cret enougH") is None

    short = runner.invoke(app, ["users", "add", "x", "-w", w], input="short\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    empty = runner.invoke(app, ["users", "add", "y", "-w", w], input="")
    assert empty.exit_code != 0 and not UserStore(tmp_path / "ws").get("y")
    bad_role = runner.invoke(
        app, ["users", "add", "z", "--role", "god", "-w", w], input="long password\n"
    )
    assert bad_role.exit_code == 1 and "role must be one of" in bad_role.output

    token = runner.invoke(app, ["users", "token", "root", "--name", "cron", "-w", w])
    assert token.exit_code == 0
    secret = token.stdout.strip().splitlines()[-1]
    assert secret.startswith("pt_")
    assert UserStore(tmp_path / "ws").verify_token(secret).name == "root"  # type: ignore[union-attr]
    listed = runner.invoke(app, ["users", "list", "-w", w])
    assert "root" in listed.output and "admin" in listed.output and "cron" in listed.output
    assert secret.removeprefix("pt_").split("_", 1)[1] not in listed.output

    runner.invoke(app, ["users", "add", "ann", "-w", w], input="another password\n")
    last_admin = runner.invoke(app, ["users", "remove", "root", "-w", w])
    assert last_admin.exit_code == 1 and "last admin" in last_admin.output
    assert runner.invoke(app, ["users", "remove", "ann", "-w", w]).exit_code == 0
    assert [u.name for u in UserStore(tmp_path / "ws").list()] == ["root"]
