"""Batches: unchanged sources skipped, changed ones load what changed, a crash changes nothing."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from personify import Workspace
from personify.cli import app
from personify.config import ColumnSpec
from personify.ingest import quarantine

CRM = "customer_id,city,birth_date\nC1,Leeds,1980-01-01\nC2,York,1985-02-02\n"


def _rows(ws: Workspace, sql: str) -> list[tuple]:
    return ws.engine.sql(sql).fetchall()


def test_reloading_an_unchanged_file_is_a_no_op(make_workspace) -> None:
    ws = make_workspace({"crm": ("customers", "crm.csv", CRM)})
    first = ws.ingest.run()
    second = ws.ingest.run()
    assert first.sources[0].mode == "full" and first.rows_loaded == 2
    assert second.sources[0].mode == "unchanged" and second.rows_loaded == 0
    # The rows still carry the first batch's id: nothing was rewritten.
    assert _rows(ws, "SELECT DISTINCT _batch_id FROM raw_crm") == [(first.batch_id,)]
    assert _rows(ws, "SELECT mode FROM load_batches ORDER BY seq") == [("full",), ("unchanged",)]


def test_appended_and_edited_rows_load_alone(make_workspace, tmp_path: Path) -> None:
    ws = make_workspace({"crm": ("customers", "crm.csv", CRM)})
    first = ws.ingest.run()
    # C2 moved to Hull; C3 is new; C1 unchanged.
    (tmp_path / "crm.csv").write_text(
        "customer_id,city,birth_date\nC1,Leeds,1980-01-01\nC2,Hull,1985-02-02\nC3,Bath,1990-03-03\n"
    )
    second = ws.ingest.run()
    load = second.sources[0]
    assert (load.mode, load.rows_loaded, load.rows_replaced, load.rows_unchanged) == (
        "incremental",
        2,
        1,
        1,
    )
    rows = _rows(ws, "SELECT customer_id, city, _batch_id FROM raw_crm ORDER BY customer_id")
    assert rows == [
        ("C1", "Leeds", first.batch_id),
        ("C2", "Hull", second.batch_id),
        ("C3", "Bath", second.batch_id),
    ]
    assert ws.ingest.changed_since(first.batch_id) == {"crm": 2}
    assert ws.ingest.changed_since(second.batch_id) == {"crm": 0}


def test_a_keyless_source_that_lost_rows_is_rebuilt(make_workspace, tmp_path: Path) -> None:
    lines = "order_id,product_id,quantity\nO1,P1,1\nO1,P2,2\n"
    ws = make_workspace({"lines": ("order_lines", "l.csv", lines)})
    ws.ingest.run()
    (tmp_path / "l.csv").write_text("order_id,product_id,quantity\nO1,P1,1\nO1,P3,5\n")
    load = ws.ingest.run().sources[0]
    assert load.mode == "full"
    assert _rows(ws, "SELECT product_id FROM raw_lines ORDER BY _row") == [("P1",), ("P3",)]


def test_row_hashes_from_another_engine_version_lose_and_double_nothing(
    make_workspace, tmp_path: Path
) -> None:
    """row_hash is the engine's own hash(): should an upgrade change it, the stored
    hashes match nothing, and the next load must still give exactly the file's rows."""
    lines = "order_id,product_id,quantity\nO1,P1,1\nO1,P2,2\n"
    crm_bad = CRM + "C3,Bath,31/12/1990\n"
    ws = make_workspace(
        {"lines": ("order_lines", "l.csv", lines), "crm": ("customers", "crm.csv", crm_bad)},
        crm={"max_bad_fraction": 0.5},
    )
    ws.ingest.run()
    for table in ("raw_lines", "raw_crm"):
        ws.engine.sql(f"UPDATE {table} SET _row_hash = _row_hash + 1")
    ws.engine.sql("UPDATE quarantine SET row_hash = row_hash + 1")
    # Touch both files (same content, new bytes at the end) so they are read again.
    (tmp_path / "l.csv").write_text(lines + "O2,P1,3\n")
    (tmp_path / "crm.csv").write_text(crm_bad + "C4,Ely,1970-01-01\n")
    loads = {s.source: s for s in ws.ingest.run().sources}
    assert loads["lines"].mode == "full"  # a keyless source: rebuilt
    assert _rows(ws, "SELECT order_id, product_id FROM raw_lines ORDER BY 1, 2") == [
        ("O1", "P1"),
        ("O1", "P2"),
        ("O2", "P1"),
    ]
    # A keyed source replaces each record by its id: one row per customer.
    assert _rows(ws, "SELECT customer_id FROM raw_crm ORDER BY 1") == [("C1",), ("C2",), ("C4",)]
    assert _rows(ws, "SELECT count(*) FROM quarantine WHERE source = 'crm'") == [(1,)]


def test_a_changed_mapping_or_full_refresh_rebuilds(make_workspace) -> None:
    ws = make_workspace({"crm": ("customers", "crm.csv", CRM)})
    ws.ingest.run()
    assert ws.ingest.run(full_refresh=True).sources[0].mode == "full"
    spec = ws.config.sources["crm"]
    changed = spec.model_copy(update={"max_bad_fraction": 0.5, "record_key": ["customer_id"]})
    ws.config = ws.config.model_copy(update={"sources": {"crm": changed}})
    assert ws.ingest.run().sources[0].mode == "full"
    assert ws.engine.count("raw_crm") == 2


def test_quarantine_is_not_repeated_and_clears_when_the_row_is_fixed(
    make_workspace, tmp_path: Path
) -> None:
    bad = CRM + "C3,Bath,31/12/1990\n"
    ws = make_workspace({"crm": ("customers", "crm.csv", bad)}, crm={"max_bad_fraction": 0.5})
    ws.ingest.run()
    (tmp_path / "crm.csv").write_text(bad + "C4,Ely,1970-01-01\n")
    ws.ingest.run()
    assert ws.engine.count("quarantine") == 1  # the same bad row, once
    (tmp_path / "crm.csv").write_text(CRM + "C3,Bath,1990-12-31\nC4,Ely,1970-01-01\n")
    load = ws.ingest.run().sources[0]
    assert load.rows_quarantined == 0 and load.rows_loaded == 1
    assert ws.engine.count("quarantine") == 0
    assert ws.engine.count("raw_crm") == 4


def test_quarantine_list_show_and_retry_after_fixing_the_mapping(
    make_workspace, tmp_path: Path
) -> None:
    text = "customer_id,email,birth_date\nC1,a@x.com,31/12/1980\nC2,b@x.com,01/02/1985\n"
    ws = make_workspace({"crm": ("customers", "crm.csv", text)}, crm={"max_bad_fraction": 1.0})
    ws.ingest.run()
    groups = quarantine.summary(ws)
    assert [(g.source, g.rows, g.first_line) for g in groups] == [("crm", 2, 2)]
    shown = quarantine.rows(ws, "crm")
    assert shown[0].columns == ["birth_date"]
    record = json.loads(shown[0].record)
    assert record["email"] == quarantine.MASK and record["customer_id"] == quarantine.MASK
    assert json.loads(quarantine.rows(ws, "crm", reveal=True)[0].record)["email"] == "a@x.com"
    # The user declares the day-first format; retry loads both rows.
    spec = ws.config.sources["crm"]
    fixed = spec.model_copy(update={"columns": {"birth_date": ColumnSpec(format="%d/%m/%Y")}})
    ws.config = ws.config.model_copy(update={"sources": {"crm": fixed}})
    result = quarantine.retry(ws)
    assert result.before == {"crm": 2} and result.after == {"crm": 0}
    assert ws.engine.count("raw_crm") == 2


def test_quarantine_cli_shows_customer_text_literally(make_workspace) -> None:
    text = "order_id,order_ts,total,status\nA1,2024-01-01,[/],[link=https://x.test]x[/link]\n"
    ws = make_workspace({"o": ("orders", "o.csv", text)}, o={"max_bad_fraction": 1.0})
    ws.ingest.run()
    ws.close()
    runner = CliRunner()
    listed = runner.invoke(app, ["quarantine", "list", "-w", str(ws.path)])
    assert listed.exit_code == 0, listed.output
    assert "total: expected a number" in listed.output
    shown = runner.invoke(app, ["quarantine", "show", "o", "-w", str(ws.path)])
    assert shown.exit_code == 0, shown.output
    assert "[link=https://x.test]x[/link]" in shown.output


def test_check_finds_problems_without_loading(make_workspace) -> None:
    text = "customer_id,birth_date,Fav Colour\nC1,1980-01-01,red\nC2,31/12/1980,blue\n"
    ws = make_workspace({"crm": ("customers", "crm.csv", text)})
    ws.close()
    result = CliRunner().invoke(app, ["check", "-w", str(ws.path)])
    assert result.exit_code == 0, result.output
    assert "birth_date: 1 bad" in result.output
    assert "not used: Fav Colour" in result.output
    with Workspace(ws.path) as again:
        assert not again.engine.has_table("raw_crm")


KILLED_LOAD = """
import sys
from personify import Workspace
with Workspace(sys.argv[1]) as ws:
    ws.ingest.run(full_refresh=True)
"""


def test_a_load_killed_midway_leaves_the_workspace_as_it_was(
    make_workspace, tmp_path: Path
) -> None:
    ws = make_workspace({"crm": ("customers", "crm.csv", CRM)})
    ws.ingest.run()
    before = _rows(ws, "SELECT customer_id, city FROM raw_crm ORDER BY 1")
    batches = ws.engine.count("load_batches")
    ws.close()
    # A large file, so the load is still running when it is killed.
    with (tmp_path / "crm.csv").open("w") as f:
        f.write("customer_id,city,birth_date\n")
        for i in range(8_000_000):  # loads in about 8 s here: long enough to kill
            f.write(f"C{i},Town{i % 97},1980-01-{1 + i % 28:02d}\n")
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_LOAD, str(ws.path)],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    time.sleep(3.0)
    assert proc.poll() is None, "the load finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with Workspace(ws.path) as again:
        assert _rows(again, "SELECT customer_id, city FROM raw_crm ORDER BY 1") == before
        assert again.engine.count("load_batches") == batches
