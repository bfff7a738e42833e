"""Parity: every stage on DuckDB and on Spark (local mode) from the same files gives the
same tables, column by column.

The Spark workspace's ingest checks in its own DuckDB file and publishes raw_*,
quarantine and load_batches to Spark; the later stages run on Spark. Floats may differ
within tests/engine/_compare.py's tolerance: 1e-9 relative (sums in another order),
and one rounding step (0.01) for money rounded in SQL, where DuckDB rounds the binary
double and Spark its decimal text.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from personify.cli import demo_sources
from tests.engine._compare import differences, table
from tests.engine._parity import Pair, run_pair

pytestmark = pytest.mark.slow

CUSTOMERS = 300

# table -> sort key; every column is compared but each run's clock and batch id.
SKIP = ("created_at", "loaded_at", "_loaded_at", "batch_id", "_batch_id")
RAW = {f"raw_{name}": ["_file", "_row"] for name in demo_sources("data")}
TABLES = {
    **RAW,
    "quarantine": ["source", "file", "row", "line"],
    "identity_identifiers": ["source", "record_id", "id_type", "id_value"],
    "identity_graph": ["id_type", "id_value"],
    "identity_links": ["source", "record_id"],
    "identity_model_links": ["person_l", "person_r"],
    "golden_record": ["person_id"],
    "profiles": ["person_id"],
    "segment_runs": ["run_id"],
    "segment_membership": ["run_id", "person_id"],
    "segments": ["run_id", "segment_id"],
    "segment_attributes": ["run_id", "segment_id", "attribute", "value"],
    "personas": ["segment_run", "segment_id"],
}
STAGE_OF = {
    **dict.fromkeys(RAW, "ingest"),
    "quarantine": "ingest",
    "identity_identifiers": "identity",
    "identity_graph": "identity",
    "identity_links": "identity",
    "identity_model_links": "identity",
    "golden_record": "identity",
    "profiles": "profiles",
    "segment_runs": "segments",
    "segment_membership": "segments",
    "segments": "segments",
    "segment_attributes": "segments",
    "personas": "personas",
}


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    start = time.perf_counter()
    result = run_pair(tmp_path_factory.mktemp("parity"), customers=CUSTOMERS)
    result.seconds["total"] = time.perf_counter() - start
    print("parity run seconds:", {k: round(v, 1) for k, v in result.seconds.items()})
    yield result
    result.duck.close()
    result.spark.close()


@pytest.mark.parametrize("name", list(TABLES))
def test_a_table_is_the_same_on_both_engines(pair: Pair, name: str) -> None:
    stage = STAGE_OF[name]
    assert stage not in pair.errors, pair.errors[stage]
    duck = table(pair.duck.engine, name, TABLES[name])
    spark = table(pair.spark.engine, name, TABLES[name])
    assert len(duck) > 0 or name == "quarantine"
    # Segment figures are means over profile money rounded per person to 0.01, where the
    # engines may differ by one step (tests/engine/_compare.py): equal to 1e-5 relative.
    relative = 1e-5 if name in ("segments", "segment_attributes") else None
    assert differences(duck, spark, skip=SKIP, relative=relative) == {}


def test_every_stage_ran_on_spark(pair: Pair) -> None:
    assert pair.errors == {}
    assert set(pair.seconds) >= {"ingest", "identity", "profiles", "segments", "personas"}
