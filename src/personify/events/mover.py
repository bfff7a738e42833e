"""Moves logged events into the workspace as JSON-lines batch files, exactly once.

Why files and not rows in ``raw_events``: the server must not hold the workspace's DuckDB
file (one writing process at a time), or ``personify run`` could not run beside it. The
files are what the existing ``events`` source kind already ingests (docs/sources.md), so
events from the API and from an export take one code path into ``raw_events``, identity
and profiles: configure a source ``{kind: events, path: "events/inbox/*.jsonl"}``.

Exactly once: a step reads the log from the checkpoint, drops messageIds already moved,
writes ``inbox/events-<segment>-<offset>.jsonl`` (temp file, fsync, rename), then commits
the new checkpoint and the moved messageIds in one SQLite transaction (stdlib; a
transactional state store is what this needs, and SQLite's is tried and true). A crash
before the commit repeats the step: the same name is written again, with the same events
and perhaps more that arrived since, so nothing is lost or doubled.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from personify.events.log import Position, fsync_dir, segment_path, segments

log = logging.getLogger(__name__)

MAX_CHUNK_BYTES = 32 * 2**20
# Segment dedupes by messageId over about a day; ids older than this are forgotten here
# (a later copy would still replace, not double, the row in raw_events: same record id).
DEDUPE_WINDOW = timedelta(days=7)


_ID_FIRST = b'{"messageId":"'


def _message_id(line: bytes) -> str:
    """The server writes messageId first: read it off the line, parse only when escaped."""
    if line.startswith(_ID_FIRST):
        end = line.find(b'"', len(_ID_FIRST))
        value = line[len(_ID_FIRST) : end]
        if end > 0 and b"\\" not in value:
            return value.decode()
    return str(orjson.loads(line)["messageId"])


@dataclass(frozen=True)
class MoveResult:
    moved: int
    duplicates: int
    file: Path | None


class Mover:
    """The log-to-inbox step; run :meth:`step` until it returns nothing, or :meth:`start`."""

    def __init__(
        self,
        events_dir: str | Path,
        *,
        durable: Callable[[], Position] | None = None,
        interval: float = 5.0,
    ) -> None:
        self.dir = Path(events_dir)
        self.log_dir = self.dir / "log"
        self.inbox = self.dir / "inbox"
        self.inbox.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # Without a live log (a stopped server), everything in the files is durable.
        self._durable = durable
        self.interval = interval
        self._db = sqlite3.connect(self.dir / "mover.sqlite", check_same_thread=False)
        self._db.executescript(
            """
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = FULL;
            CREATE TABLE IF NOT EXISTS checkpoint (
                id INTEGER PRIMARY KEY CHECK (id = 1), segment INTEGER, "offset" INTEGER);
            CREATE TABLE IF NOT EXISTS moved (message_id TEXT PRIMARY KEY, moved_at INTEGER)
                WITHOUT ROWID;
            """
        )
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.total_moved = 0

    # -- state ----------------------------------------------------------------------------

    def checkpoint(self) -> Position:
        row = self._db.execute('SELECT segment, "offset" FROM checkpoint').fetchone()
        if row:
            return Position(row[0], row[1])
        numbers = segments(self.log_dir)
        return Position(numbers[0] if numbers else 1, 0)

    def _end(self, segment: int) -> int:
        """How far segment ``segment`` may be read: durable bytes only."""
        size = segment_path(self.log_dir, segment).stat().st_size
        if self._durable is None:
            return size
        durable = self._durable()
        if segment < durable.segment:
            return size
        return min(size, durable.offset) if segment == durable.segment else 0

    def pending_bytes(self) -> int:
        with self._lock:
            at = self.checkpoint()
            return sum(
                max(0, self._end(n) - (at.offset if n == at.segment else 0))
                for n in segments(self.log_dir)
                if n >= at.segment
            )

    # -- one step -------------------------------------------------------------------------

    def step(self) -> MoveResult | None:
        """Move the next chunk of durable events; None when there is nothing to move."""
        with self._lock:
            while True:
                at = self.checkpoint()
                numbers = [n for n in segments(self.log_dir) if n >= at.segment]
                if not numbers:
                    return None
                if at.segment not in numbers:
                    at = Position(numbers[0], 0)
                end = self._end(at.segment)
                if at.offset < end:
                    break
                later = [n for n in numbers if n > at.segment]
                # A later segment the writer has reached means this one is complete.
                if not later or (self._durable is not None and later[0] > self._durable().segment):
                    return None
                self._advance(at, Position(later[0], 0))
            with open(segment_path(self.log_dir, at.segment), "rb") as f:
                f.seek(at.offset)
                data = f.read(min(end - at.offset, MAX_CHUNK_BYTES))
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                return None
            return self._move(at, data[:cut])

    def _move(self, at: Position, data: bytes) -> MoveResult:
        lines = data.splitlines(keepends=True)
        ids = [_message_id(line) for line in lines]
        seen = self._seen(ids)
        keep: list[bytes] = []
        new_ids: list[str] = []
        batch_ids: set[str] = set()
        for line, mid in zip(lines, ids, strict=True):
            if mid in seen or mid in batch_ids:
                continue
            batch_ids.add(mid)
            new_ids.append(mid)
            keep.append(line)
        target: Path | None = None
        if keep:
            target = self.inbox / f"events-{at.segment:012d}-{at.offset:012d}.jsonl"
            tmp = self.inbox / f".{target.name}.tmp"
            with open(tmp, "wb") as f:
                f.write(b"".join(keep))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
            fsync_dir(self.inbox)
        now = int(time.time())
        with self._db:  # one transaction: the ids moved and the new checkpoint
            self._db.executemany(
                "INSERT OR IGNORE INTO moved VALUES (?, ?)", ((m, now) for m in new_ids)
            )
            self._save(Position(at.segment, at.offset + len(data)))
        duplicates = len(lines) - len(keep)
        if duplicates:
            log.info("events: %d repeated messageIds dropped", duplicates)
        self.total_moved += len(keep)
        return MoveResult(len(keep), duplicates, target)

    def _seen(self, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            marks = ",".join("?" * len(part))
            rows = self._db.execute(
                f"SELECT message_id FROM moved WHERE message_id IN ({marks})", part
            )
            found.update(r[0] for r in rows)
        return found

    def _save(self, at: Position) -> None:
        self._db.execute(
            "INSERT INTO checkpoint VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET "
            'segment = excluded.segment, "offset" = excluded."offset"',
            (at.segment, at.offset),
        )

    def _advance(self, old: Position, new: Position) -> None:
        """The old segment is moved entirely: checkpoint past it, then delete it."""
        with self._db:
            self._save(new)
        segment_path(self.log_dir, old.segment).unlink(missing_ok=True)
        fsync_dir(self.log_dir)

    def forget_old(self) -> None:
        cutoff = int((datetime.now(UTC) - DEDUPE_WINDOW).timestamp())
        with self._lock, self._db:
            self._db.execute("DELETE FROM moved WHERE moved_at < ?", (cutoff,))

    def drain(self) -> int:
        """Move everything durable now; the number of events moved."""
        moved = 0
        while (result := self.step()) is not None:
            moved += result.moved
        return moved

    # -- in the background ----------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="event-mover", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last_forget = 0.0
        while not self._stop.wait(self.interval):
            try:
                self.drain()
                if time.monotonic() - last_forget > 3600:
                    self.forget_old()
                    last_forget = time.monotonic()
            except Exception:  # keep collecting; the log keeps the events until a step works
                log.exception("event mover step failed; retrying in %.0f s", self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def close(self) -> None:
        self.stop()
        self._db.close()


def run_process(events_dir: Path, *, parent: int, interval: float) -> None:
    """The mover as the server's child process (``personify serve`` starts it).

    A process of its own, not a thread: the mover's Python work would otherwise compete for
    the server's interpreter lock and take a fifth of its throughput. It reads complete
    lines without waiting for the writer's fsync; an event it moves before its sync was
    acknowledged a moment later or never (a client then retries it, and the messageId
    dedupe keeps one copy). It stops on SIGTERM or SIGINT (the server then makes the last
    move itself: :func:`drain_now`), and on its own when the server is gone (killed): the
    next server goes on from the checkpoint. A lock file keeps two movers from running at once.
    """
    import fcntl
    import signal

    # A plain flag, not a threading.Event: a handler calling Event.set() runs in the main
    # thread, and when the signal lands while that thread is inside Event.wait() (holding
    # the event's lock) it deadlocks there, and the server then waits on it for ever.
    stopping: list[bool] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.append(True))
    events_dir.mkdir(parents=True, exist_ok=True)
    with open(events_dir / "mover.lock", "w") as lock:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                time.sleep(0.1)
                if stopping or os.getppid() != parent:
                    return
        mover = Mover(events_dir)
        next_move = time.monotonic() + interval
        last_forget = time.monotonic()
        try:
            while not stopping:
                if os.getppid() != parent:
                    return  # the server died: move nothing more
                if time.monotonic() >= next_move:
                    try:
                        mover.drain()
                        if time.monotonic() - last_forget > 3600:
                            mover.forget_old()
                            last_forget = time.monotonic()
                    except Exception:  # the log keeps the events until a step works
                        log.exception("event mover step failed; retrying")
                    next_move = time.monotonic() + interval
                time.sleep(min(0.2, interval))
        finally:
            mover.close()


def drain_now(events_dir: Path) -> int:
    """Move everything in the log now (the server's last step, once its mover has stopped)."""
    import fcntl

    with open(events_dir / "mover.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        mover = Mover(events_dir)
        try:
            return mover.drain()
        finally:
            mover.close()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="The event server's mover (internal).")
    parser.add_argument("events_dir", type=Path)
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--interval", type=float, default=5.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="mover: %(message)s")
    run_process(args.events_dir, parent=args.parent, interval=args.interval)
