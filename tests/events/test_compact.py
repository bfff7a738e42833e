"""Inbox compaction: small mover files merged, every line kept once and in order, nothing
re-ingested, and a crash at any step (a raised error, or a real SIGKILL) undone or finished."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from personify import Workspace
from personify.events import INBOX_GLOB, compact
from personify.events.log import Position
from personify.events.mover import Mover


def _message(i: int) -> dict[str, object]:
    return {
        "messageId": f"m-{i:05d}",
        "type": "track",
        "event": "Step",
        "userId": f"u-{i % 5}",
        "properties": {"i": i, "pad": "x" * (i % 40)},
        "timestamp": "2026-01-02T03:04:05.000Z",
    }


def fill(events_dir: Path, batches: int, per_batch: int, start: int = 0) -> list[bytes]:
    """Log ``batches`` groups of messages and let the real mover write one file for each."""
    segment = events_dir / "log" / "000000000001.log"
    segment.parent.mkdir(parents=True, exist_ok=True)
    mover = Mover(events_dir)
    lines = []
    try:
        for b in range(batches):
            chunk = [
                orjson.dumps(_message(start + b * per_batch + k)) + b"\n" for k in range(per_batch)
            ]
            with open(segment, "ab") as f:
                f.write(b"".join(chunk))
            assert mover.drain() == per_batch
            lines += chunk
    finally:
        mover.close()
    return lines


def inbox_lines(inbox: Path) -> list[bytes]:
    """The inbox as a load reads it: files in name order, lines in order."""
    return [
        line
        for p in sorted(inbox.glob("*.jsonl"))
        for line in p.read_bytes().splitlines(keepends=True)
    ]


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.init(tmp_path / "ws", sources={"events": {"kind": "events", "path": INBOX_GLOB}})
    yield ws
    ws.close()


def test_a_load_merges_the_files_it_read_and_nothing_is_loaded_twice(
    workspace: Workspace,
) -> None:
    events, inbox = workspace.path / "events", workspace.path / "events" / "inbox"
    lines = fill(events, batches=30, per_batch=20)
    assert len(list(inbox.glob("*.jsonl"))) == 30
    first = workspace.ingest.run().sources[0]
    assert first.rows_loaded == 600
    assert [p.name for p in inbox.glob("*.jsonl")] == ["events-000000000001-000000000000.jsonl"]
    assert inbox_lines(inbox) == lines  # every line once, in the log's order
    again = workspace.ingest.run().sources[0]
    assert (again.mode, again.rows_loaded, again.rows_unchanged) == ("incremental", 0, 600)
    more = fill(events, batches=3, per_batch=10, start=600)
    third = workspace.ingest.run().sources[0]
    assert (third.rows_loaded, third.rows_unchanged) == (30, 600)
    assert len(list(inbox.glob("*.jsonl"))) == 1 and inbox_lines(inbox) == lines + more
    full = workspace.ingest.run(full_refresh=True).sources[0]
    assert full.rows_loaded == 630
    ids = [r[0] for r in workspace.engine.sql("SELECT message_id FROM raw_events").fetchall()]
    assert sorted(ids) == [f"m-{i:05d}" for i in range(630)]
    assert workspace.engine.count("quarantine") == 0


def _names(inbox: Path) -> list[str]:
    return sorted(p.name for p in inbox.glob("*.jsonl"))


def test_compaction_leaves_alone_what_it_must(tmp_path: Path) -> None:
    events = tmp_path / "events"
    inbox = events / "inbox"
    lines = fill(events, batches=10, per_batch=4)
    names = _names(inbox)
    (inbox / "zz-export.jsonl").write_bytes(b'{"messageId":"x","type":"page"}\n')
    sizes = {n: (inbox / n).stat().st_size for n in names}
    # Files 0-1 and 3-5 are runs; 2 holds a quarantined row; 6 was not in the load; the
    # mover's checkpoint is at file 8, which it may still rewrite, so 8 and 9 stay too.
    result = compact.compact(
        inbox,
        ingested=[n for i, n in enumerate(names) if i != 6],
        keep=[names[2]],
        checkpoint=compact.position(names[8]),
    )
    assert _names(inbox) == sorted(
        [names[0], names[2], names[3], names[6], names[7], names[8], names[9], "zz-export.jsonl"]
    )
    assert (result.merged, result.files_after) == (3, 8)
    assert (inbox / names[0]).stat().st_size == sizes[names[0]] + sizes[names[1]]
    assert (inbox / names[3]).stat().st_size == sum(sizes[n] for n in names[3:6])
    assert inbox_lines(inbox)[: len(lines)] == lines
    # A size bound splits a run: three files per merged file at most here.
    fill_more = fill(tmp_path / "b", batches=7, per_batch=4)
    small = tmp_path / "b" / "inbox"
    each = max(p.stat().st_size for p in small.glob("*.jsonl"))
    compact.compact(
        small,
        ingested=_names(small),
        checkpoint=Position(99, 0),
        target_bytes=3 * each,
    )
    assert len(_names(small)) == 3 and inbox_lines(small) == fill_more
    assert compact.compact(small, ingested=_names(small), checkpoint=None).merged == 0


# Each step a crash can stop at, and what recovery then does: before the journal there is
# nothing to do; before the appends are all synced it undoes; after, it finishes.
STEPS = {
    "journal": None,
    "append": "undone",
    "appending": "undone",
    "appended": "finished",
    "deleted one": "finished",
    "deleted": "finished",
}


class Crash(Exception):
    pass


@pytest.mark.parametrize("step", list(STEPS))
def test_a_compaction_stopped_at_any_step_keeps_each_line_once(
    workspace: Workspace, step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    events, inbox = workspace.path / "events", workspace.path / "events" / "inbox"
    lines = fill(events, batches=12, per_batch=25)
    calls = {"n": 0}

    def crash(name: str) -> None:
        if name == step:
            calls["n"] += 1
            if calls["n"] == 3 or step not in ("appending", "deleted one"):
                raise Crash(name)  # the 3rd part appended, or the 3rd deleted

    monkeypatch.setattr(compact, "_step", crash)
    with pytest.raises(Crash):
        compact.compact(inbox, ingested=_names(inbox), checkpoint=Position(99, 0))
    monkeypatch.setattr(compact, "_step", lambda _name: None)
    assert (inbox / compact.JOURNAL).exists() == (step != "journal")
    assert compact.recover(inbox) == STEPS[step]
    assert inbox_lines(inbox) == lines
    assert not (inbox / compact.JOURNAL).exists()
    # The next load (which would also recover first) loads each event once, and compacts.
    load = workspace.ingest.run().sources[0]
    assert load.rows_loaded == 300 and workspace.engine.count("quarantine") == 0
    assert inbox_lines(inbox) == lines and len(_names(inbox)) == 1


def test_a_load_after_a_crashed_compaction_recovers_it_first(workspace: Workspace) -> None:
    """A journal left by a crash mid-append: the load undoes it before it reads."""
    events, inbox = workspace.path / "events", workspace.path / "events" / "inbox"
    lines = fill(events, batches=4, per_batch=10)
    names = _names(inbox)
    head = inbox / names[0]
    before = head.stat().st_size
    parts_size = sum((inbox / n).stat().st_size for n in names[1:])
    journal = {
        "head": names[0],
        "size_before": before,
        "size_after": before + parts_size,
        "parts": names[1:],
    }
    (inbox / compact.JOURNAL).write_bytes(orjson.dumps(journal))
    with open(head, "ab") as f:  # half a line of the first part, as a torn append leaves it
        f.write((inbox / names[1]).read_bytes()[:37])
    load = workspace.ingest.run().sources[0]
    assert (load.rows_loaded, load.rows_quarantined) == (40, 0)
    assert inbox_lines(inbox) == lines


_CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from personify.events import compact
    from personify.events.log import Position

    inbox, marker = Path(sys.argv[1]), Path(sys.argv[2])
    seen = {"n": 0}

    def pause(name):
        if name == "appending":
            seen["n"] += 1
            if seen["n"] == 40:  # well into the appends: tell the test, then wait to be killed
                marker.write_text("ready")
                time.sleep(600)

    compact._step = pause
    names = sorted(p.name for p in inbox.glob("*.jsonl"))
    compact.compact(inbox, ingested=names, checkpoint=Position(99, 0), target_bytes=1 << 16)
    """
)


def test_sigkill_in_the_middle_of_a_compaction_loses_and_doubles_nothing(
    workspace: Workspace,
) -> None:
    events, inbox = workspace.path / "events", workspace.path / "events" / "inbox"
    lines = fill(events, batches=120, per_batch=30)
    marker = workspace.path / "ready"
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(inbox), str(marker)])
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, "the compaction ended before the kill point"
            assert time.monotonic() < deadline, "the compaction did not reach the kill point"
            time.sleep(0.02)
        child.kill()
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert (inbox / compact.JOURNAL).exists()  # killed inside a merge
    assert len(_names(inbox)) < 120  # and after others had completed
    load = workspace.ingest.run().sources[0]  # recovers, loads, compacts the rest
    assert (load.rows_loaded, load.rows_quarantined) == (3600, 0)
    assert inbox_lines(inbox) == lines
    ids = workspace.engine.sql("SELECT count(DISTINCT message_id), count(*) FROM raw_events")
    assert ids.fetchone() == (3600, 3600)
