"""Shared fixtures: small workspaces built from files written by the test itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from personify import Workspace
from tests.support.postgres import PostgresServer


@pytest.fixture
def make_workspace(tmp_path: Path) -> Iterator[Callable[..., Workspace]]:
    """``make_workspace({"crm": ("customers", "crm.csv", text)}, locale=..., **source_options)``."""
    opened: list[Workspace] = []

    def make(
        files: dict[str, tuple[str, str, str | bytes]],
        *,
        locale: dict[str, Any] | None = None,
        **options: Any,
    ) -> Workspace:
        sources = {}
        for name, (kind, filename, content) in files.items():
            path = tmp_path / filename
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
            sources[name] = {"kind": kind, "path": str(path), **options.get(name, {})}
        ws = Workspace.init(tmp_path / "ws", sources=sources, locale=locale, overwrite=True)
        opened.append(ws)
        return ws

    yield make
    for ws in opened:
        ws.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the whole test session (tests/support/postgres.py)."""
    server = PostgresServer.start()
    yield server
    server.stop()
