"""Ingest on a Spark workspace: loaded and checked in DuckDB, published to Spark.

Kaufhaus Beispiel (tests/fixtures/other_company.py), not the demo: its planted bad rows
must reach Spark's quarantine, its rows Spark's raw tables, and a publish that fails
half-way must leave Spark as it was and be repeated by the next load.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from personify import Workspace
from personify.errors import WorkspaceError
from tests.fixtures.other_company import Truth, generate

YAML = Path(__file__).parents[1] / "fixtures" / "other_company.yaml"


@pytest.fixture(scope="module")
def spark_ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, Truth]]:
    root = tmp_path_factory.mktemp("kaufhaus_spark")
    truth = generate(root / "exporte", people=300)
    config = yaml.safe_load(YAML.read_text(encoding="utf-8"))
    config["engine"] = {"kind": "spark", "master": "local[2]"}
    (root / "personify.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    ws = Workspace(root)
    yield ws, truth
    ws.close()


def _rows(engine: Any, table: str) -> set[tuple[Any, ...]]:
    return set(engine.sql(f"SELECT _source, _row, _row_hash FROM {table}").fetchall())


def _catalogue(ws: Workspace) -> dict[str, list[str]]:
    file = ws.resolve(ws.config.engine.path) / "catalog.json"
    return dict(json.loads(file.read_text())["tables"])


def test_a_load_reaches_spark_with_its_quarantine(spark_ws: tuple[Workspace, Truth]) -> None:
    ws, truth = spark_ws
    result = ws.ingest.run()
    spark, duck = ws.engine, ws.ingest_engine
    assert spark is not duck
    raw = sorted(f"raw_{n}" for n in ws.config.sources)
    assert set(raw) | {"quarantine", "load_batches"} <= set(spark.list_tables())
    for table in raw:
        assert _rows(spark, table) == _rows(duck, table) and spark.count(table) > 0
    assert sum(spark.count(t) for t in raw) == result.rows_loaded
    got = {
        (s, int(line), cols)
        for s, line, cols in spark.sql('SELECT source, line, "columns" FROM quarantine').fetchall()
    }
    assert got == {(b.source, b.line, b.column) for b in truth.bad_rows}
    assert ws.loaded_sources().keys() == ws.config.sources.keys()


def test_an_unchanged_load_republishes_only_the_batch_log(
    spark_ws: tuple[Workspace, Truth],
) -> None:
    ws, _ = spark_ws
    before = _catalogue(ws)
    batches = ws.engine.count("load_batches")
    ws.ingest.run()
    after = _catalogue(ws)
    assert {t for t in after if after[t] != before.get(t)} == {"load_batches"}
    assert ws.engine.count("load_batches") == batches + len(ws.config.sources)


def test_a_failed_publish_changes_nothing_and_the_next_load_repeats_it(
    spark_ws: tuple[Workspace, Truth], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, _ = spark_ws
    source = next(n for n, s in ws.config.sources.items() if s.kind == "orders")
    orders = ws.resolve(str(ws.config.sources[source].path))
    lines = orders.read_text(encoding="utf-8").splitlines(keepends=True)
    orders.write_text("".join(lines[:-5]), encoding="utf-8")  # five orders fewer
    before, spark_rows = _catalogue(ws), ws.engine.count(f"raw_{source}")

    calls: list[str] = []
    real_load = ws.engine.load_parquet

    def load_then_die(name: str, path: str) -> None:  # Spark lost after the first table
        if calls:
            raise OSError("No space left on device")
        calls.append(name)
        real_load(name, path)

    monkeypatch.setattr(ws.engine, "load_parquet", load_then_die)
    with pytest.raises(WorkspaceError, match=r"publishing it to Spark failed \(OSError: No space"):
        ws.ingest.run(full_refresh=True)  # rebuilt: the five are gone
    monkeypatch.undo()
    assert _catalogue(ws) == before and ws.engine.count(f"raw_{source}") == spark_rows
    assert ws.ingest_engine.count(f"raw_{source}") == spark_rows - 5  # DuckDB has the load

    ws.ingest.run()  # the files did not change since: the publish alone is repeated
    assert ws.engine.count(f"raw_{source}") == spark_rows - 5
    assert _rows(ws.engine, f"raw_{source}") == _rows(ws.ingest_engine, f"raw_{source}")
    assert not list(ws.resolve(ws.config.engine.temp_directory).glob("publish-*"))


def test_a_duckdb_workspace_switched_to_spark_publishes_everything(tmp_path: Path) -> None:
    truth = generate(tmp_path / "exporte", people=80, seed=7)
    config = yaml.safe_load(YAML.read_text(encoding="utf-8"))
    (tmp_path / "personify.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    with Workspace(tmp_path) as ws:
        ws.ingest.run()
        loaded = {t: ws.engine.count(t) for t in ws.engine.list_tables()}
    config["engine"] = {"kind": "spark", "master": "local[2]"}
    (tmp_path / "personify.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    shutil.rmtree(tmp_path / "spark-tables", ignore_errors=True)
    with Workspace(tmp_path) as ws:
        result = ws.ingest.run()
        assert {s.mode for s in result.sources} == {"unchanged"}
        published = {t: ws.engine.count(t) for t in ws.engine.list_tables()}
    assert published == {**loaded, "load_batches": loaded["load_batches"] + len(config["sources"])}
    assert published["quarantine"] == len(truth.bad_rows)
