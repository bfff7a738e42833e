"""Ingest on a Spark workspace: hand the loaded tables over to Spark.

Ingest validates in DuckDB (its readers, rejects tables and one-pass checks are
DuckDB's) and keeps its state there, in the workspace's ``database`` file. After each
load, the tables Spark lacks or holds in an older state are written as Parquet and
swapped into Spark's catalogue in one transaction: a raw_<source> a batch changed,
quarantine with it, and load_batches always.

Which are older is read from load_batches itself: Spark's copy ends at some ``seq``;
every source with a load after it that was not ``unchanged`` is published again. So a
publish that failed (Spark down, disk full) is repeated by the next ``personify ingest``
even when no file changed, and DuckDB and Spark never disagree for long.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from personify.errors import WorkspaceError
from personify.ingest._readers import quote_literal

if TYPE_CHECKING:
    from personify.engine import DuckDBEngine, Engine

STATE_TABLES = ("quarantine", "load_batches")


def stale_tables(source: DuckDBEngine, target: Engine) -> list[str]:
    """The ingest tables ``target`` lacks or holds in an older state than ``source``."""
    have = set(target.list_tables())
    published_seq = (
        int(target.scalar("SELECT coalesce(max(seq), 0) FROM load_batches"))
        if "load_batches" in have
        else 0
    )
    changed = {
        r[0]
        for r in source.sql(
            "SELECT DISTINCT source FROM load_batches WHERE seq > ? AND mode <> 'unchanged'",
            [published_seq],
        ).fetchall()
    }
    loaded = [t for t in source.list_tables() if t.startswith("raw_")]
    stale = [t for t in loaded if t not in have or t.removeprefix("raw_") in changed]
    if changed or "quarantine" not in have:
        stale.append("quarantine")
    stale.append("load_batches")  # every load adds its rows, unchanged sources too
    return stale


def publish(source: DuckDBEngine, target: Engine, scratch: Path) -> list[str]:
    """Copy the stale ingest tables from ``source`` to ``target``; return their names."""
    tables = stale_tables(source, target)
    folder = scratch / f"publish-{uuid.uuid4().hex[:12]}"
    folder.mkdir(parents=True)
    try:
        for table in tables:  # written first: a failed write leaves Spark as it was
            file = folder / f"{table}.parquet"
            source.sql(f"COPY {table} TO {quote_literal(str(file))} (FORMAT parquet)")
        with target.transaction():
            for table in tables:
                target.load_parquet(table, str(folder / f"{table}.parquet"))
    except Exception as exc:
        raise WorkspaceError(
            f"the load is saved in {source.database}, but publishing it to Spark failed "
            f"({type(exc).__name__}: {exc}); Spark keeps the tables of the last load. "
            "Run `personify ingest` again to publish it."
        ) from exc
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return tables
