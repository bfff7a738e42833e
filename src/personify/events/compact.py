"""Compaction of the event inbox: the mover's many small batch files merged into few.

The mover writes one ``inbox/events-<segment>-<offset>.jsonl`` per step (every few seconds
under traffic, about 17,000 a day), and every load stages each file with several
statements of its own, so a pile of small files costs more than the events in them.
After a load of the ``events`` source commits, :func:`compact` appends runs of small
files to the first file of the run, up to ``target_bytes`` a file. Nothing is re-ingested:
a row's hash is of its line, which is copied byte for byte, so the next load finds every
moved row already loaded (only its ``_file`` and ``_row`` in ``raw_events`` still name
the file it was loaded from).

Which files: those the committed load read (it is in ``load_batches``), that the mover
will never write again (before its checkpoint: a crashed mover step rewrites its file,
under the same name), holding no quarantined row (quarantine points at their lines), and
named as the mover names them. A run never skips over another file, so the inbox's order
(file name, then line) stays the log's order.

Exactly once, across a crash at any point: a journal (``inbox/.compact.json``, written
and renamed) names the head, its size before, its size once every part is appended, and
the parts. The parts' bytes are appended to the head and fsynced; then the parts are
deleted; then the journal. :func:`recover` (run before every load reads the inbox and
before every compaction) finishes or undoes what a journal describes: a head at its full
size means every part is in it, so the parts still there are deleted; any other size is
truncated back to what it was, and the parts stay. Either way each line is in the inbox
once.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from personify.events.log import Position, fsync_dir

log = logging.getLogger(__name__)

INBOX = Path("events") / "inbox"  # in the workspace
TARGET_BYTES = 64 * 2**20  # as large as a log segment
JOURNAL = ".compact.json"
_NAME = re.compile(r"events-(\d{12})-(\d{12})\.jsonl")
_COPY = 1 << 22


@dataclass(frozen=True)
class CompactResult:
    files_before: int
    files_after: int
    merged: int  # files appended to another and removed
    bytes_moved: int


def position(name: str) -> Position | None:
    """Where in the log the mover's file ``name`` starts; None for any other name."""
    m = _NAME.fullmatch(name)
    return Position(int(m.group(1)), int(m.group(2))) if m else None


def mover_checkpoint(events_dir: Path) -> Position | None:
    """How far the mover has committed; files that start before it are final."""
    db = events_dir / "mover.sqlite"
    if not db.is_file():
        return None
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = con.execute('SELECT segment, "offset" FROM checkpoint').fetchone()
    except sqlite3.OperationalError:  # no checkpoint table yet
        return None
    finally:
        con.close()
    return Position(row[0], row[1]) if row else None


# Test hook: called with a step's name before each step ("journal", "append", "appended",
# "delete", "deleted"); a test raises from it to stop a compaction where a crash would.
_step: Callable[[str], None] = lambda _name: None  # noqa: E731


def recover(inbox: Path) -> str | None:
    """Finish or undo an interrupted compaction; what was done (None: nothing to do)."""
    (inbox / f"{JOURNAL}.tmp").unlink(missing_ok=True)
    journal = inbox / JOURNAL
    if not journal.is_file():
        return None
    plan = json.loads(journal.read_text())
    head = inbox / plan["head"]
    size = head.stat().st_size if head.is_file() else None
    if size == plan["size_after"]:  # every part is in the head: drop the copies left
        for name in plan["parts"]:
            (inbox / name).unlink(missing_ok=True)
        done = "finished"
    else:  # not all appended (or not even started): back to the head as it was
        if size is not None and size != plan["size_before"]:
            with open(head, "r+b") as f:
                f.truncate(plan["size_before"])
                os.fsync(f.fileno())
        done = "undone"
    fsync_dir(inbox)
    journal.unlink()
    fsync_dir(inbox)
    log.info("events inbox: an interrupted compaction was %s", done)
    return done


def compact(
    inbox: Path,
    *,
    ingested: Iterable[str],
    keep: Iterable[str] = (),
    checkpoint: Position | None,
    target_bytes: int = TARGET_BYTES,
) -> CompactResult:
    """Merge runs of the ``ingested`` files (names) into their first file (see the module doc).

    ``keep``: files not to touch (they hold quarantined rows). ``checkpoint``: the mover's
    (:func:`mover_checkpoint`); None compacts nothing.
    """
    recover(inbox)
    files = sorted(p for p in inbox.glob("*.jsonl") if p.is_file())
    before = len(files)
    if checkpoint is None:
        return CompactResult(before, before, 0, 0)
    loaded, kept = set(ingested), set(keep)

    def final(p: Path, size: int) -> bool:
        at = position(p.name)
        return (
            size > 0
            and at is not None
            and at < checkpoint
            and p.name in loaded
            and p.name not in kept
            and _ends_in_newline(p)  # whole lines only (as the mover writes them)
        )

    groups: list[list[tuple[Path, int]]] = []
    group: list[tuple[Path, int]] = []
    total = 0
    for p in files:
        size = p.stat().st_size
        eligible = final(p, size)
        if not eligible or (group and total + size > target_bytes):
            if len(group) > 1:
                groups.append(group)
            group, total = [], 0
            if not eligible:
                continue
        group.append((p, size))
        total += size
    if len(group) > 1:
        groups.append(group)

    merged = moved = 0
    for group in groups:
        moved += _merge(inbox, group)
        merged += len(group) - 1
    if merged:
        log.info("events inbox: %d files merged into %d", merged + len(groups), len(groups))
    return CompactResult(before, before - merged, merged, moved)


def _ends_in_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def compact_after_load(
    workspace: Path, paths: list[Path], quarantined: Iterable[str]
) -> CompactResult | None:
    """Compact the inbox after a committed load of the events source read ``paths``
    (``quarantined``: the files its quarantined rows name).

    Never fails the load (it is committed): a failing compaction is undone and logged.
    """
    inbox = (workspace / INBOX).resolve()
    read = [p.name for p in paths if p.resolve().parent == inbox]
    if not read:
        return None
    keep = {Path(f).name for f in quarantined}
    try:
        return compact(inbox, ingested=read, keep=keep, checkpoint=mover_checkpoint(inbox.parent))
    except OSError as exc:
        log.warning("events inbox: compaction failed (%s); the files stay as they were", exc)
        recover(inbox)
        return None


def _merge(inbox: Path, group: list[tuple[Path, int]]) -> int:
    (head, head_size), parts = group[0], group[1:]
    appended = sum(size for _, size in parts)
    plan = {
        "head": head.name,
        "size_before": head_size,
        "size_after": head_size + appended,
        "parts": [p.name for p, _ in parts],
    }
    _step("journal")
    tmp = inbox / f"{JOURNAL}.tmp"
    with open(tmp, "w") as f:
        json.dump(plan, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, inbox / JOURNAL)
    fsync_dir(inbox)
    _step("append")
    with open(head, "ab") as out:
        for part, size in parts:
            with open(part, "rb") as f:
                copied = 0
                while chunk := f.read(min(_COPY, size - copied)):
                    out.write(chunk)
                    copied += len(chunk)
                    _step("appending")
            if copied != size:  # the file changed under us: a mover's file never does
                raise OSError(f"{part.name} changed while it was being merged")
        out.flush()
        os.fsync(out.fileno())
    _step("appended")
    for part, _ in parts:
        part.unlink()
        _step("deleted one")
    fsync_dir(inbox)
    _step("deleted")
    (inbox / JOURNAL).unlink()
    fsync_dir(inbox)
    return appended
