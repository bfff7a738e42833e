"""SIGKILL loses nothing acknowledged: N events through the real SDK, kill, restart, exactly N."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import orjson
from segment.analytics import Client

from personify import Workspace
from tests.events.conftest import EventServer, stored, wait_for

N = 3000


def test_sigkill_after_the_acknowledgements_loses_nothing(
    events_workspace: tuple[Path, str],
) -> None:
    path, key = events_workspace
    # The mover waits an hour: every event is still only in the log when the kill comes.
    server = EventServer(path, key, move_interval=3600).start()
    errors: list[Any] = []
    client = Client(
        write_key=key,
        host=server.url,
        on_error=lambda e, batch: errors.append(e),
        upload_size=100,
        max_queue_size=N + 1,
    )
    sent = [f"kill-{i:05d}" for i in range(N)]
    for i, mid in enumerate(sent):
        client.track(f"user-{i % 7}", "Clicked", {"i": i}, message_id=mid)
    client.flush()
    client.join()  # returns once every batch got its reply
    assert errors == []
    server.kill()
    assert stored(path) == []  # nothing was moved before the kill

    server = EventServer(path, key, move_interval=0.2).start()
    try:
        found = wait_for(path, N)
    finally:
        server.stop()
    found = stored(path)
    assert sorted(m["messageId"] for m in found) == sent  # each exactly once
    with Workspace(path) as ws:
        ws.ingest.run()
        count = ws.engine.fetch_df("SELECT count(DISTINCT message_id) AS n FROM raw_events")
    assert int(count["n"][0]) == N


def test_sigkill_under_load_keeps_every_acknowledged_event(
    events_workspace: tuple[Path, str],
) -> None:
    """Killed mid-traffic: every acknowledged event is stored once (unacknowledged ones may
    be stored too, once; a client would retry them and the messageId dedupe keeps one)."""
    path, key = events_workspace
    server = EventServer(path, key, move_interval=0.05).start()
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def send(worker: int) -> None:
        with httpx.Client(auth=(key, ""), timeout=10) as http:
            for n in range(10_000):
                if stop.is_set():
                    return
                ids = [f"w{worker}-{n:05d}-{j:02d}" for j in range(20)]
                batch = [
                    {"type": "track", "userId": "u", "event": "E", "messageId": m} for m in ids
                ]
                try:
                    r = http.post(f"{server.url}/v1/batch", content=orjson.dumps({"batch": batch}))
                except httpx.TransportError:
                    return
                if r.status_code == 200:
                    with lock:
                        acknowledged.extend(ids)

    workers = [threading.Thread(target=send, args=(w,)) for w in range(4)]
    for w in workers:
        w.start()
    while len(acknowledged) < 4000:
        threading.Event().wait(0.05)
    server.kill()
    stop.set()
    for w in workers:
        w.join()
    server = EventServer(path, key, move_interval=0.2).start()
    try:
        wait_for(path, len(acknowledged))
    finally:
        server.stop()
    ids = [m["messageId"] for m in stored(path)]
    assert len(ids) == len(set(ids))  # no duplicates
    assert set(acknowledged) <= set(ids)  # nothing acknowledged is lost
