"""The supervised churn model on DuckDB and on Spark (local mode) from the same IBM Telco
file: the models read their inputs ordered by person_id, so both engines hand them the
same rows and the scores and stored CV AUCs agree."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from personify import Workspace
from tests.engine._compare import differences, table

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).parent.parent.parent / "examples"


def test_churn_scores_are_the_same_on_both_engines(tmp_path: Path) -> None:
    sys.path.insert(0, str(EXAMPLES))
    prepare = importlib.import_module("prepare")
    config = (EXAMPLES / "telco" / "personify.yaml").read_text()
    spark_config = config + "engine: {kind: spark, master: 'local[2]'}\n"
    workspaces = []
    for name, text in (("duck", config), ("spark", spark_config)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "personify.yaml").write_text(text)
        prepare.prepare("telco", folder)
        workspaces.append(Workspace(folder))
    try:
        for ws in workspaces:
            ws.ingest.run()
            ws.identity.run()
            ws.profiles.run()
        duck, spark = workspaces
        for name, key in (("profiles", ["person_id"]), ("profile_models", ["model"])):
            a, b = table(duck.engine, name, key), table(spark.engine, name, key)
            assert len(a) > 0
            assert differences(a, b, skip=()) == {}, name
    finally:  # tmp_path stays: the Spark session, shared by later tests, keeps files there
        for ws in workspaces:
            ws.close()
