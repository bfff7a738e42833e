"""Real Node server SDKs against the server: Segment's ``@segment/analytics-node`` and
RudderStack's ``@rudderstack/rudder-sdk-node``, installed from npm by the fixture below.

Each SDK is pointed at a recording proxy on loopback that forwards every request to the
server unchanged: it shows what went over the wire (RudderStack gzips its bodies) and that
the server answered 200 to each.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.events.conftest import EventServer, wait_for

# Pinned: the versions these tests were written against (npm installs exactly these).
PACKAGES = {"@segment/analytics-node": "3.1.0", "@rudderstack/rudder-sdk-node": "3.0.13"}
REPO = Path(__file__).resolve().parents[2]
NODE_DIR = REPO / "build" / "node-sdks"  # build/ is ignored by git
DRIVER = Path(__file__).parent / "node" / "send.js"


def _installed(directory: Path) -> bool:
    for name, version in PACKAGES.items():
        manifest = directory / "node_modules" / name / "package.json"
        if not manifest.is_file() or json.loads(manifest.read_text())["version"] != version:
            return False
    return True


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """The SDKs, installed once into build/node-sdks (kept between runs)."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not found: the Node SDK tests need Node.js 18+ and npm "
            "(Debian: apt-get install nodejs npm; `make test` installs them when root)"
        )
    if not _installed(NODE_DIR):
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        specs = [f"{name}@{version}" for name, version in PACKAGES.items()]
        done = subprocess.run(
            ["npm", "install", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund",
             "--ignore-scripts", "--loglevel=error", *specs],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if done.returncode != 0 or not _installed(NODE_DIR):
            pytest.fail(f"npm install {' '.join(specs)} failed:\n{done.stderr[-3000:]}")
    return NODE_DIR / "node_modules"


@dataclass
class Seen:
    path: str
    encoding: str
    gzip_magic: bool
    status: int


@dataclass
class RecordingProxy:
    """Forwards POSTs to the server as they came, and notes each one."""

    target: str
    seen: list[Seen] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def start(self) -> RecordingProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() in ("authorization", "content-type", "content-encoding")
                }
                reply = httpx.post(
                    proxy.target + self.path, content=body, headers=headers, timeout=30
                )
                proxy.seen.append(
                    Seen(
                        self.path,
                        self.headers.get("content-encoding", ""),
                        body[:2] == b"\x1f\x8b",
                        reply.status_code,
                    )
                )
                self.send_response(reply.status_code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply.content)))
                self.end_headers()
                self.wfile.write(reply.content)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def proxy(server: EventServer) -> Iterator[RecordingProxy]:
    p = RecordingProxy(server.url).start()
    yield p
    p.stop()


def _send(
    node_modules: Path,
    sdk: str,
    url: str,
    key: str,
    calls: list[dict[str, Any]],
    *,
    flush_at: int,
    await_every: int = 0,
) -> dict[str, Any]:
    payload = {
        "sdk": sdk,
        "url": url,
        "writeKey": key,
        "flushAt": flush_at,
        "awaitEvery": await_every,
        "calls": calls,
    }
    done = subprocess.run(
        ["node", str(DRIVER)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "NODE_PATH": str(node_modules)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _calls() -> list[dict[str, Any]]:
    return [
        {"method": "identify", "message": {
            "userId": "n-1", "anonymousId": "n-anon", "traits": {"plan": "pro"},
            "messageId": "n-identify"}},
        {"method": "track", "message": {
            "userId": "n-1", "event": "Order Completed",
            "properties": {"price": 19.99, "items": ["a", "b"]}, "messageId": "n-track"}},
        {"method": "page", "message": {
            "userId": "n-1", "category": "Docs", "name": "Install",
            "properties": {"path": "/docs"}, "messageId": "n-page"}},
        {"method": "screen", "message": {
            "userId": "n-1", "name": "Cart", "messageId": "n-screen"}},
        {"method": "group", "message": {
            "userId": "n-1", "groupId": "acme", "traits": {"employees": 12},
            "messageId": "n-group"}},
        {"method": "alias", "message": {
            "userId": "n-1", "previousId": "n-anon", "messageId": "n-alias"}},
    ]  # fmt: skip


@pytest.mark.parametrize("sdk", ["segment", "rudderstack"])
def test_every_call_of_a_node_sdk_arrives_intact(
    node_modules: Path, server: EventServer, proxy: RecordingProxy, sdk: str
) -> None:
    result = _send(node_modules, sdk, proxy.url, server.key, _calls(), flush_at=20)
    assert result == {"errors": [], "answered": 6}
    by_id = {m["messageId"]: m for m in wait_for(server.workspace, 6)}
    assert set(by_id) == {
        "n-identify", "n-track", "n-page", "n-screen", "n-group", "n-alias"
    }  # fmt: skip
    assert all(m["type"] == mid.split("-")[1] for mid, m in by_id.items())
    assert by_id["n-identify"]["traits"] == {"plan": "pro"}
    assert by_id["n-identify"]["anonymousId"] == "n-anon"
    assert by_id["n-track"]["event"] == "Order Completed"
    assert by_id["n-track"]["properties"] == {"price": 19.99, "items": ["a", "b"]}
    assert (by_id["n-page"]["name"], by_id["n-page"]["category"]) == ("Install", "Docs")
    assert by_id["n-page"]["properties"]["path"] == "/docs"
    assert by_id["n-screen"]["name"] == "Cart"
    assert (by_id["n-group"]["groupId"], by_id["n-group"]["traits"]) == ("acme", {"employees": 12})
    assert (by_id["n-alias"]["previousId"], by_id["n-alias"]["userId"]) == ("n-anon", "n-1")
    library = {"segment": "@segment/analytics-node", "rudderstack": "analytics-node"}[sdk]
    assert {m["context"]["library"]["name"] for m in by_id.values()} == {library}
    assert all(m["timestamp"] and m["receivedAt"] for m in by_id.values())
    assert proxy.seen and all(s.status == 200 and s.path == "/v1/batch" for s in proxy.seen)
    if sdk == "rudderstack":  # RudderStack gzips every body
        assert all(s.encoding == "gzip" and s.gzip_magic for s in proxy.seen)
    else:
        assert all(s.encoding == "" and not s.gzip_magic for s in proxy.seen)


def _steps(sdk: str) -> tuple[dict[str, list[str]], list[dict[str, Any]]]:
    """600 tracks of three users, interleaved; the ids each user sent, in order."""
    sent: dict[str, list[str]] = {"u-a": [], "u-b": [], "u-c": []}
    calls = []
    for i in range(600):
        user = f"u-{'abc'[i % 3]}"
        mid = f"{sdk}-{user}-{i:04d}"
        sent[user].append(mid)
        calls.append(
            {"method": "track", "message": {
                "userId": user, "event": "Step", "properties": {"i": i}, "messageId": mid}}
        )  # fmt: skip
    return sent, calls


@pytest.mark.parametrize("sdk", ["segment", "rudderstack"])
def test_a_node_sdk_flushing_in_turn_keeps_each_users_order(
    node_modules: Path, server: EventServer, proxy: RecordingProxy, sdk: str
) -> None:
    """An app that flushes and waits every 50 calls: no two requests overlap, so the
    server's order is the order the calls were made."""
    sent, calls = _steps(sdk)
    result = _send(node_modules, sdk, proxy.url, server.key, calls, flush_at=50, await_every=50)
    assert result == {"errors": [], "answered": 600}
    found = wait_for(server.workspace, 600)
    assert len(found) == 600
    for user, ids in sent.items():
        assert [m["messageId"] for m in found if m["userId"] == user] == ids
    assert len(proxy.seen) >= 12 and all(s.status == 200 for s in proxy.seen)
    if sdk == "rudderstack":  # RudderStack gzips every body
        assert all(s.encoding == "gzip" and s.gzip_magic for s in proxy.seen)


@pytest.mark.parametrize("sdk", ["segment", "rudderstack"])
def test_a_node_sdk_batching_by_itself_keeps_each_requests_order(
    node_modules: Path, server: EventServer, proxy: RecordingProxy, sdk: str
) -> None:
    """Left to batch by themselves, both SDKs send several batches at once, so which
    request lands first is up to the network; each request's events are stored together,
    in the order sent, and each exactly once."""
    _, calls = _steps(sdk)
    result = _send(node_modules, sdk, proxy.url, server.key, calls, flush_at=50)
    assert result == {"errors": [], "answered": 600}
    found = wait_for(server.workspace, 600)
    order = [m["properties"]["i"] for m in found]
    assert sorted(order) == list(range(600))
    runs = 1 + sum(1 for a, b in itertools.pairwise(order) if b != a + 1)
    assert len(proxy.seen) >= 12 and all(s.status == 200 for s in proxy.seen)
    assert runs <= len(proxy.seen)  # at most one run of consecutive calls per request
