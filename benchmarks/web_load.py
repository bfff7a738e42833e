"""Load on the web app: 50 concurrent viewers on the gallery and persona pages.

Builds a demo workspace (or uses --workspace), adds a viewer, starts ``personify serve`` on
a free loopback port and drives it from a small asyncio HTTP/1.1 client in this process
(keep-alive connections, one per viewer; about a tenth of httpx's CPU per request, so the
client takes less of the 2 cores from the server). Each viewer logs in once (its own
session), then loops: the gallery, then a persona page picked at random. Bounded by time
and by a request cap; loopback only.

Baseline, in the same run and the same way: the same viewers fetching the app's static
stylesheet from the same server (routing, auth-free path and security headers, no page to
render). ``ratio`` = our p95 / the baseline's p95 (lower is better).

    .venv/bin/python benchmarks/web_load.py            # 3,000 customers, 60 s per phase
    .venv/bin/python benchmarks/web_load.py --quick    # 1,000 customers, 15 s per phase
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from personify import Workspace  # noqa: E402
from personify.cli import DEMO_LOCALE, demo_sources  # noqa: E402
from personify.demo import generate_demo_company  # noqa: E402
from personify.web.users import UserStore  # noqa: E402

USER, PASSWORD = "loadviewer", "load test password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build(folder: Path, customers: int) -> Path:
    generate_demo_company(folder / "data", customers=customers, seed=42)
    with Workspace.init(
        folder / "workspace",
        sources=demo_sources(str(folder / "data" / "sources")),
        locale=DEMO_LOCALE,
    ) as ws:
        ws.run()
    return folder / "workspace"


class Connection:
    """One keep-alive HTTP/1.1 connection: GET, read the status and a Content-Length body."""

    def __init__(self, port: int, cookie: str) -> None:
        self.port = port
        self.cookie = cookie
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Cookie: personify_session={self.cookie}\r\n\r\n".encode()
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def login(base: str) -> str:
    with httpx.Client(base_url=base) as client:
        client.get("/login")
        answer = client.post(
            "/login",
            data={
                "username": USER,
                "password": PASSWORD,
                "csrf": client.cookies["personify_login"],
            },
            follow_redirects=False,
        )
        if answer.status_code != 303:
            raise SystemExit(f"login failed: {answer.status_code}")
        return str(answer.cookies["personify_session"])


async def phase(
    port: int, cookies: list[str], paths: list[str], *, seconds: float, cap: int, seed: int
) -> dict[str, list[tuple[str, float, int]]]:
    """Each viewer: the gallery, then a random persona page, again and again."""
    deadline = time.perf_counter() + seconds
    done = 0
    results: dict[str, list[tuple[str, float, int]]] = {}

    async def viewer(index: int, cookie: str) -> None:
        nonlocal done
        rng = random.Random(seed + index)
        conn = Connection(port, cookie)
        out = results.setdefault(str(index), [])
        try:
            while time.perf_counter() < deadline and done < cap:
                for kind, path in (("first", paths[0]), ("second", rng.choice(paths[1:]))):
                    start = time.perf_counter()
                    try:
                        status = await conn.get(path)
                    except (OSError, asyncio.IncompleteReadError, ValueError):
                        status = 0
                        conn.close()
                        conn = Connection(port, cookie)
                    out.append((kind, time.perf_counter() - start, status))
                    done += 1
        finally:
            conn.close()

    await asyncio.gather(*(viewer(i, c) for i, c in enumerate(cookies)))
    return results


def summarise(name: str, samples: list[tuple[str, float, int]], seconds: float) -> dict[str, float]:
    latencies = sorted(s[1] for s in samples)
    errors = sum(1 for s in samples if s[2] != 200)

    def q(p: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0.0
        )

    return {
        "name": name,  # type: ignore[dict-item]
        "requests": len(samples),
        "requests_per_s": len(samples) / seconds,
        "p50_ms": q(0.50),
        "p95_ms": q(0.95),
        "p99_ms": q(0.99),
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 customers, 15 s per phase")
    parser.add_argument("--workspace", type=Path, help="an existing workspace (else a demo)")
    parser.add_argument("--customers", type=int, default=None)
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args()
    customers = args.customers or (1_000 if args.quick else 3_000)
    seconds = args.seconds or (15.0 if args.quick else 60.0)
    cap = 200_000  # requests per phase, whatever the speed

    tmp = tempfile.TemporaryDirectory(
        prefix="web-load-", dir=ROOT / "build" if (ROOT / "build").is_dir() else None
    )
    if args.workspace:
        workspace = args.workspace
    else:
        print(f"building a demo workspace of {customers:,} customers ...", flush=True)
        workspace = build(Path(tmp.name), customers)
    store = UserStore(workspace)
    if store.get(USER) is None:
        store.add(USER, "viewer", PASSWORD)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(Path(tmp.name) / "server.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from personify.cli import main; main()",
            "serve",
            "-w",
            str(workspace),
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            raise SystemExit("server did not start")
        cookies = [login(base) for _ in range(args.viewers)]
        personas = httpx.get(
            f"{base}/api/v1/personas", cookies={"personify_session": cookies[0]}
        ).json()
        pages = ["/", *(f"/personas/{p['slug']}" for p in personas)]
        static = ["/static/web.css", "/static/web.css"]
        # warm up (snapshot loaded, templates compiled), then the two phases
        asyncio.run(phase(port, cookies[:5], pages, seconds=2, cap=500, seed=0))
        runs = {}
        for name, paths in (("pages", pages), ("static", static)):
            start = time.perf_counter()
            results = asyncio.run(phase(port, cookies, paths, seconds=seconds, cap=cap, seed=1))
            elapsed = time.perf_counter() - start
            runs[name] = ([s for v in results.values() for s in v], elapsed)
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()

    samples, elapsed = runs["pages"]
    rows = [
        summarise("gallery + persona pages", samples, elapsed),
        summarise("  gallery", [s for s in samples if s[0] == "first"], elapsed),
        summarise("  persona page", [s for s in samples if s[0] == "second"], elapsed),
        summarise("baseline: static CSS", *runs["static"]),
    ]
    print(
        f"\n{args.viewers} concurrent viewers, {len(personas)} personas, {customers:,} customers, "
        f"{seconds:.0f} s per phase, loopback, load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'':26} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'errors':>7}"
    )
    for r in rows:
        print(
            f"{r['name']:26} {r['requests']:>9,} {r['requests_per_s']:>8.0f} {r['p50_ms']:>8.1f} "
            f"{r['p95_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['errors']:>7}"
        )
    ours, baseline = rows[0], rows[3]
    goal = "met" if ours["p95_ms"] < 200 and ours["errors"] == 0 else "NOT met"
    print(f"goal p95 < 200 ms with zero errors: {goal}")
    print(
        json.dumps(
            {
                "requests_per_s": round(ours["requests_per_s"], 1),
                "p95_ms": round(ours["p95_ms"], 1),
                "p50_ms": round(ours["p50_ms"], 1),
                "errors": int(ours["errors"]),
                "requests": int(ours["requests"]),
                "viewers": args.viewers,
                "baseline": "static stylesheet from the same server",
                "baseline_p95_ms": round(baseline["p95_ms"], 1),
                "baseline_requests_per_s": round(baseline["requests_per_s"], 1),
                "ratio": round(ours["p95_ms"] / baseline["p95_ms"], 2)
                if baseline["p95_ms"]
                else None,
            }
        )
    )
    tmp.cleanup()


if __name__ == "__main__":
    main()
