"""Event API throughput: /v1/batch calls of 100 events from concurrent clients, on loopback.

Starts ``personify serve`` on a fresh workspace (a free 127.0.0.1 port), then several
asyncio clients post batches for a fixed time (and at most --max-requests calls), each
waiting for its reply before the next call, as an SDK does. It reports events/s
acknowledged, p50/p99 request latency, then stops the server (which moves the log into the
workspace), counts the events in the workspace's inbox and, with --ingest, loads them into
``raw_events`` and counts them there. ``lost`` = acknowledged events not found stored.

Traffic goes to 127.0.0.1 only, and the run stops by itself (time and count bounds).
The last line is one JSON object: events_per_s, p50_ms, p99_ms, lost and the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from personify import Workspace
from personify.events import INBOX_GLOB, KeyStore


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(workspace: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from personify.cli import main; main()",
            "serve",
            "--workspace",
            str(workspace),
            "--port",
            str(port),
            "--move-interval",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


def _template(size: int) -> bytes:
    """One batch body; ``@@`` in each messageId is replaced by the call's own prefix."""
    now = "2026-01-01T00:00:00.000Z"
    return orjson.dumps(
        {
            "sentAt": now,
            "batch": [
                {
                    "type": "track",
                    "messageId": f"@@-{j}",
                    "userId": f"user-{j * 7919 % 50_000}",
                    "event": "Product Viewed",
                    "timestamp": now,
                    "properties": {"product_id": f"SKU-{j}", "price": 9.99, "category": "books"},
                    "context": {"library": {"name": "bench", "version": "1"}},
                }
                for j in range(size)
            ],
        }
    )


async def _client(
    port: int,
    auth: str,
    client: int,
    *,
    template: bytes,
    until: float,
    budget: list[int],
    latencies: list[float],
    acked: list[int],
) -> None:
    """One SDK-like sender: a keep-alive connection, one call at a time.

    Plain HTTP/1.1 over asyncio streams, not a client library: on 2 cores the generator
    shares the CPU with the server, and httpx spends about as much CPU per call as the
    server does, which would halve what is measured. The server is a real uvicorn.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Basic {auth}\r\n"
        "Content-Type: application/json\r\nContent-Length: "
    ).encode()
    n = 0
    try:
        while time.monotonic() < until and budget[0] > 0:
            budget[0] -= 1
            body = template.replace(b"@@", f"c{client}-{n}".encode())
            start = time.perf_counter()
            writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if status_line.split()[1:2] == [b"200"]:
                acked.append(client * 10_000_000 + n)
            n += 1
    finally:
        writer.close()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="15 s of load instead of 60 s")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--max-requests", type=int, default=50_000)
    parser.add_argument("--ingest", action="store_true", help="also load into raw_events")
    parser.add_argument("--dir", type=Path, default=None, help="workspace (default: a temp dir)")
    args = parser.parse_args()
    seconds = args.seconds or (15.0 if args.quick else 60.0)

    root = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="personify-events-"))
    workspace = root / "ws"
    shutil.rmtree(workspace, ignore_errors=True)
    Workspace.init(workspace, sources={"events": {"kind": "events", "path": INBOX_GLOB}}).close()
    _, key = KeyStore(workspace).create("benchmark")
    port = _free_port()
    proc = _start(workspace, port)

    latencies: list[float] = []
    acked: list[int] = []
    budget = [args.max_requests]
    auth = base64.b64encode(f"{key}:".encode()).decode()
    template = _template(args.batch_size)
    try:
        # A short warm-up, not counted.
        asyncio.run(
            _client(
                port, auth, 999, template=template, until=time.monotonic() + 1,
                budget=[20], latencies=[], acked=[],
            )
        )  # fmt: skip
        start = time.monotonic()

        async def load() -> None:
            until = time.monotonic() + seconds
            await asyncio.gather(
                *(
                    _client(
                        port, auth, c, template=template, until=until, budget=budget,
                        latencies=latencies, acked=acked,
                    )
                    for c in range(args.clients)
                )
            )  # fmt: skip

        asyncio.run(load())
        elapsed = time.monotonic() - start
    finally:
        proc.send_signal(signal.SIGTERM)  # graceful: the log is moved into the inbox
        proc.wait(timeout=300)

    acked_events = len(acked) * args.batch_size
    expected = {
        f"c{k // 10_000_000}-{k % 10_000_000}-{j}" for k in acked for j in range(args.batch_size)
    }
    stored: set[str] = set()
    stored_lines = 0
    for path in sorted((workspace / "events" / "inbox").glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            mid = orjson.loads(line)["messageId"]
            stored_lines += 1
            if not mid.startswith("c999-"):
                stored.add(mid)
    lost = len(expected - stored)
    result = {
        "events_per_s": round(acked_events / elapsed),
        "p50_ms": round(_percentile(latencies, 0.5) * 1000, 2),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
        "lost": lost,
        "acknowledged": acked_events,
        "stored": len(stored),
        "requests": len(latencies),
        "failed_requests": len(latencies) - len(acked),
        "clients": args.clients,
        "batch_size": args.batch_size,
        "seconds": round(elapsed, 1),
    }
    if args.ingest:
        t0 = time.perf_counter()
        with Workspace(workspace) as ws:
            ws.ingest.run()
            n = ws.engine.fetch_df(
                "SELECT count(*) AS n FROM raw_events WHERE message_id NOT LIKE 'c999-%'"
            )["n"][0]  # less the warm-up
        result["raw_events"] = int(n)
        result["ingest_s"] = round(time.perf_counter() - t0, 1)
    print(
        f"{result['events_per_s']:,} events/s acknowledged over {result['seconds']} s "
        f"({args.clients} clients, batches of {args.batch_size}); p50 {result['p50_ms']} ms, "
        f"p99 {result['p99_ms']} ms; stored {len(stored):,} of {acked_events:,}; lost {lost}"
    )
    if not args.dir:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
