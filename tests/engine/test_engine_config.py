"""``engine:`` in personify.yaml: kind, master, path; the Spark extra's install hint."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from personify import Workspace
from personify.config import parse_config
from personify.errors import ConfigError, WorkspaceError


def test_engine_defaults_to_duckdb_and_spark_to_local_mode() -> None:
    default = parse_config({}).engine
    assert (default.kind, default.master, default.path) == ("duckdb", "local[*]", "spark-tables")
    spark = parse_config({"engine": {"kind": "spark", "master": "spark://h:7077", "path": "/d"}})
    assert (spark.engine.kind, spark.engine.master, spark.engine.path) == (
        "spark",
        "spark://h:7077",
        "/d",
    )


def test_an_unknown_engine_kind_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"engine\.kind"):
        parse_config({"engine": {"kind": "oracle"}})


def test_the_template_names_the_engine_kind(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "w")
    assert ws.config.engine.kind == "duckdb"
    assert "kind: duckdb" in (tmp_path / "w" / "personify.yaml").read_text()
    ws.close()


def test_missing_pyspark_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "personify.engine._spark", raising=False)
    for name in ("pyspark", "pyspark.sql"):
        monkeypatch.setitem(sys.modules, name, None)  # as if it were not installed
    with pytest.raises(WorkspaceError, match=r"pip install 'personify\[spark\]'"):
        importlib.import_module("personify.engine._spark")
