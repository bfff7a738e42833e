"""A real event server: ``personify serve`` in a subprocess on a free loopback port."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from personify import Workspace
from personify.events import INBOX_GLOB, KeyStore


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class EventServer:
    workspace: Path
    key: str
    move_interval: float = 0.2
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    output: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> EventServer:
        self.output = self.workspace / f"server-{time.monotonic_ns()}.log"
        command = [
            sys.executable,
            "-c",
            "from personify.cli import main; main()",
            "serve",
            "--workspace",
            str(self.workspace),
            "--port",
            str(self.port),
            "--move-interval",
            str(self.move_interval),
        ]
        with open(self.output, "wb") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.output.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not start in 30 s")

    def stop(self) -> None:
        """SIGTERM: uvicorn's graceful shutdown drains the log into the inbox."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
        self.proc = None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def post(self, path: str, body: Any = None, *, content: bytes | None = None, **kw: Any) -> Any:
        auth = kw.pop("auth", (self.key, ""))
        data = content if content is not None else orjson.dumps(body)
        return httpx.post(f"{self.url}{path}", content=data, auth=auth, timeout=30, **kw)

    def log_text(self) -> str:
        return self.output.read_text() if self.output else ""


def stored(workspace: Path) -> list[dict[str, Any]]:
    """Every message in the inbox files, in file then line order."""
    out = []
    for path in sorted((workspace / "events" / "inbox").glob("*.jsonl")):
        out.extend(orjson.loads(line) for line in path.read_bytes().splitlines())
    return out


def logged_bytes(workspace: Path) -> int:
    return sum(p.stat().st_size for p in (workspace / "events" / "log").glob("*.log"))


def wait_for(workspace: Path, count: int, *, timeout: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = stored(workspace)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def make_events_workspace(path: Path) -> tuple[Path, str]:
    """A workspace whose ``events`` source reads the inbox, and one write key."""
    Workspace.init(path, sources={"events": {"kind": "events", "path": INBOX_GLOB}}).close()
    _, key = KeyStore(path).create("tests")
    return path, key


@pytest.fixture
def events_workspace(tmp_path: Path) -> tuple[Path, str]:
    return make_events_workspace(tmp_path / "ws")


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventServer]:
    """One server for tests that only send and look at replies (starting one takes seconds)."""
    path, key = make_events_workspace(tmp_path_factory.mktemp("shared") / "ws")
    srv = EventServer(path, key).start()
    yield srv
    srv.stop()


@pytest.fixture
def server(events_workspace: tuple[Path, str]) -> Iterator[EventServer]:
    path, key = events_workspace
    srv = EventServer(path, key).start()
    yield srv
    srv.stop()
