"""The durable event log: append-only segment files, fsync'ed before a request is acknowledged.

Requests hand their JSON lines to one writer thread. While it waits for one ``fdatasync``,
the next requests queue up and go out in the next single write and sync (group commit), so
a sync's cost is shared by every request that arrived meanwhile instead of paid by each.

Segments are ``log/<number>.log``, each at most ``segment_bytes`` (a write may overshoot
once). A line is one message; a crash can leave only a last line without its newline,
which was never acknowledged, and :meth:`EventLog.open` cuts it off.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SEGMENT_BYTES = 64 * 2**20


@dataclass(frozen=True, order=True)
class Position:
    """A place in the log: a segment number and a byte offset in it."""

    segment: int
    offset: int


def segment_path(directory: Path, segment: int) -> Path:
    return directory / f"{segment:012d}.log"


def segments(directory: Path) -> list[int]:
    return sorted(int(p.stem) for p in directory.glob("*.log") if p.stem.isdigit())


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def recover(directory: Path) -> None:
    """Cut a partial last line off the newest segment and make every segment durable."""
    numbers = segments(directory)
    if not numbers:
        return
    last = segment_path(directory, numbers[-1])
    with open(last, "rb+") as f:
        size = f.seek(0, os.SEEK_END)
        keep = size
        # Walk back to the last newline (a torn write is at most one request's lines).
        while keep > 0:
            step = min(65536, keep)
            f.seek(keep - step)
            chunk = f.read(step)
            nl = chunk.rfind(b"\n")
            if nl >= 0:
                keep = keep - step + nl + 1
                break
            keep -= step
        if keep != size:
            log.warning("event log: cut %d bytes of an unacknowledged partial write", size - keep)
            f.truncate(keep)
    for n in numbers:
        fd = os.open(segment_path(directory, n), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class EventLog:
    """Append lines durably; :meth:`append` returns once they are on disk."""

    def __init__(self, directory: str | Path, *, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.directory = Path(directory)
        self.segment_bytes = segment_bytes
        self._queue: queue.SimpleQueue[tuple[bytes, asyncio.Future[None]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._fd = -1
        self._segment = 0
        self._offset = 0
        self._durable = Position(0, 0)
        self._durable_lock = threading.Lock()
        self.failed: BaseException | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        recover(self.directory)
        numbers = segments(self.directory)
        self._segment = numbers[-1] if numbers else 1
        self._open_segment()
        self._thread = threading.Thread(target=self._run, name="event-log-writer", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Write what is queued, then stop."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _open_segment(self) -> None:
        path = segment_path(self.directory, self._segment)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._offset = os.fstat(self._fd).st_size
        fsync_dir(self.directory)
        with self._durable_lock:
            self._durable = Position(self._segment, self._offset)

    def durable(self) -> Position:
        """Everything before this position is on disk (and was acknowledged or will be)."""
        with self._durable_lock:
            return self._durable

    # -- writing --------------------------------------------------------------------------

    async def append(self, lines: bytes) -> None:
        """Append ``lines`` (each ending in a newline); return once they are synced to disk."""
        if self.failed is not None:
            raise OSError("the event log cannot be written") from self.failed
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put((lines, future))
        await future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            stop = False
            while True:  # take everything that queued up during the last sync
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                group.append(item)
            error: BaseException | None = None
            try:
                self._write(b"".join(lines for lines, _ in group))
            except OSError as exc:  # a full or failing disk: refuse, never acknowledge
                log.error("event log write failed: %s", exc)
                self.failed = error = exc
            for _, future in group:
                future.get_loop().call_soon_threadsafe(_settle, future, error)
            if stop:
                return

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fdatasync(self._fd)
        self._offset += len(data)
        with self._durable_lock:
            self._durable = Position(self._segment, self._offset)
        if self._offset >= self.segment_bytes:
            os.close(self._fd)
            self._segment += 1
            self._open_segment()


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # the request was cancelled (client gone): nothing to tell
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(OSError("the event log cannot be written"))
