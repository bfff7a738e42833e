"""The log and the mover in-process: grouped syncs, torn tails, segments, exactly-once moves."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import orjson
import pytest

from personify.events.log import EventLog, recover, segment_path, segments
from personify.events.mover import Mover


def _line(mid: str) -> bytes:
    return orjson.dumps({"type": "track", "userId": "u", "event": "E", "messageId": mid}) + b"\n"


def _inbox_ids(events: Path) -> list[str]:
    out = []
    for p in sorted((events / "inbox").glob("*.jsonl")):
        out += [orjson.loads(x)["messageId"] for x in p.read_bytes().splitlines()]
    return out


def test_concurrent_appends_share_syncs(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "log")
    log.open()
    syncs = 0
    real = os.fdatasync

    def counting(fd: int) -> None:
        nonlocal syncs
        syncs += 1
        real(fd)

    os.fdatasync = counting  # type: ignore[assignment]
    try:

        async def main() -> None:
            await asyncio.gather(*(log.append(_line(f"m{i}")) for i in range(500)))

        asyncio.run(main())
    finally:
        os.fdatasync = real
        log.close()
    lines = segment_path(tmp_path / "log", 1).read_bytes().splitlines()
    assert len(lines) == 500
    assert syncs < 500  # grouped: far fewer syncs than requests
    assert syncs >= 1


def test_recover_cuts_a_torn_last_line(tmp_path: Path) -> None:
    d = tmp_path / "log"
    d.mkdir()
    segment_path(d, 1).write_bytes(_line("a") + _line("b") + b'{"type":"tra')
    recover(d)
    assert segment_path(d, 1).read_bytes() == _line("a") + _line("b")
    log = EventLog(d)
    log.open()
    asyncio.run(log.append(_line("c")))
    log.close()
    assert segment_path(d, 1).read_bytes().splitlines()[-1] == _line("c").rstrip()


def test_segments_roll_and_are_deleted_once_moved(tmp_path: Path) -> None:
    events = tmp_path / "events"
    log = EventLog(events / "log", segment_bytes=2000)
    log.open()

    async def main() -> None:
        for i in range(200):
            await log.append(_line(f"m{i:03d}"))

    asyncio.run(main())
    assert len(segments(events / "log")) > 5
    mover = Mover(events, durable=log.durable)
    assert mover.drain() == 200
    # Only the segment being written is left.
    assert segments(events / "log") == [log.durable().segment]
    log.close()
    assert _inbox_ids(events) == [f"m{i:03d}" for i in range(200)]
    assert mover.drain() == 0
    mover.close()


class _CrashBeforeCommit(Mover):
    """A mover that dies after writing the inbox file and before committing its checkpoint."""

    def _save(self, at: object) -> None:
        raise KeyboardInterrupt("crash")


def test_a_crash_between_file_and_checkpoint_repeats_the_move_exactly(tmp_path: Path) -> None:
    events = tmp_path / "events"
    (events / "log").mkdir(parents=True)
    segment_path(events / "log", 1).write_bytes(b"".join(_line(f"m{i}") for i in range(10)))
    crashing = _CrashBeforeCommit(events)
    with pytest.raises(KeyboardInterrupt):
        crashing.step()
    crashing._db.close()
    assert len(_inbox_ids(events)) == 10  # the file was written, the checkpoint was not
    # More events arrive before the restart.
    with open(segment_path(events / "log", 1), "ab") as f:
        f.write(b"".join(_line(f"n{i}") for i in range(5)))
    mover = Mover(events)
    assert mover.drain() == 15
    mover.close()
    ids = _inbox_ids(events)
    assert sorted(ids) == sorted([f"m{i}" for i in range(10)] + [f"n{i}" for i in range(5)])


def test_message_ids_already_moved_are_dropped(tmp_path: Path) -> None:
    events = tmp_path / "events"
    (events / "log").mkdir(parents=True)
    path = segment_path(events / "log", 1)
    path.write_bytes(_line("a") + _line("b") + _line("a"))
    mover = Mover(events)
    assert mover.drain() == 2
    with open(path, "ab") as f:
        f.write(_line("b") + _line("c"))
    result = mover.step()
    assert result is not None
    assert (result.moved, result.duplicates) == (1, 1)
    mover.close()
    assert _inbox_ids(events) == ["a", "b", "c"]


def test_message_ids_with_quotes_or_backslashes_are_read_exactly(tmp_path: Path) -> None:
    events = tmp_path / "events"
    (events / "log").mkdir(parents=True)
    odd = ['say "hi"', "back\\slash", "tab\there", "ünï"]
    segment_path(events / "log", 1).write_bytes(b"".join(_line(m) for m in [*odd, odd[0]]))
    mover = Mover(events)
    assert mover.drain() == 4
    mover.close()
    assert _inbox_ids(events) == odd


def test_the_mover_reads_only_durable_bytes(tmp_path: Path) -> None:
    events = tmp_path / "events"
    (events / "log").mkdir(parents=True)
    path = segment_path(events / "log", 1)
    path.write_bytes(_line("a") + _line("b"))
    from personify.events.log import Position

    mover = Mover(events, durable=lambda: Position(1, len(_line("a"))))
    assert mover.drain() == 1
    mover.close()
    assert _inbox_ids(events) == ["a"]
