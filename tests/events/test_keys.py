"""Write keys: shown once, stored hashed, verified, revoked; and the ``personify keys`` commands."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from personify import Workspace
from personify.cli import app
from personify.events import KeyStore


def _workspace(tmp_path: Path) -> Path:
    Workspace.init(tmp_path / "ws").close()
    return tmp_path / "ws"


def test_a_key_is_stored_only_as_a_hash_and_verifies(tmp_path: Path) -> None:
    store = KeyStore(_workspace(tmp_path))
    record, key = store.create("web shop")
    secret = key.split("_", 2)[2]  # the secret itself may hold "_"
    assert key.startswith(f"pk_{record.key_id}_")
    assert len(secret) >= 40
    text = store.path.read_text()
    assert secret not in text
    assert key not in text
    assert oct(store.path.stat().st_mode & 0o777) == "0o600"
    assert store.verify(key) == record.key_id
    assert store.verify(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert store.verify(f"pk_{record.key_id}_") is None
    assert store.verify("pk_00000000_" + secret) is None
    assert store.verify("nonsense") is None
    assert [k.name for k in store.list()] == ["web shop"]


def test_a_revoked_key_no_longer_verifies_even_when_cached(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    server_side = KeyStore(ws)
    record, key = KeyStore(ws).create("app")
    assert server_side.verify(key) == record.key_id
    assert server_side.cached(key) == record.key_id
    KeyStore(ws).revoke(record.key_id)
    import time

    time.sleep(0.3)  # the store looks at the file every quarter second
    assert server_side.cached(key) is None
    assert server_side.verify(key) is None
    (listed,) = KeyStore(ws).list()
    assert not listed.active


def test_keys_commands(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    runner = CliRunner()
    created = runner.invoke(app, ["keys", "create", "crm sync", "-w", str(ws)])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("pk_")
    listed = runner.invoke(app, ["keys", "list", "-w", str(ws)])
    assert listed.exit_code == 0
    assert "crm sync" in listed.stdout
    assert "active" in listed.stdout
    assert key.rsplit("_", 1)[1] not in listed.stdout
    key_id = key.split("_")[1]
    revoked = runner.invoke(app, ["keys", "revoke", key_id, "-w", str(ws)])
    assert revoked.exit_code == 0
    assert "revoked" in runner.invoke(app, ["keys", "list", "-w", str(ws)]).stdout
    missing = runner.invoke(app, ["keys", "revoke", "nope", "-w", str(ws)])
    assert missing.exit_code == 1
    assert "no write key" in missing.output
    not_a_workspace = runner.invoke(app, ["keys", "list", "-w", str(tmp_path / "none")])
    assert not_a_workspace.exit_code == 1
