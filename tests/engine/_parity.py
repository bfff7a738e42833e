"""One small demo company run on DuckDB and on Spark from the same raw tables."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from personify import Workspace
from personify.cli import DEMO_LOCALE, demo_sources
from personify.demo import generate_demo_company

STAGES = ("identity", "profiles", "segments", "personas")


@dataclass
class Pair:
    duck: Workspace
    spark: Workspace
    errors: dict[str, str] = field(default_factory=dict)  # stage -> why Spark failed
    seconds: dict[str, float] = field(default_factory=dict)


def run_pair(root: Path, *, customers: int, seed: int = 5) -> Pair:
    """Ingest with DuckDB; hand its raw tables to Spark as Parquet; run the stages on both."""
    generate_demo_company(root / "data", customers=customers, seed=seed)
    duck = Workspace.init(
        root / "duck", sources=demo_sources(str(root / "data" / "sources")), locale=DEMO_LOCALE
    )
    duck.ingest.run()
    (root / "spark").mkdir()
    config = (root / "duck" / "personify.yaml").read_text()
    config = config.replace("  kind: duckdb\n", "  kind: spark\n", 1)
    config = config.replace("  master: local[*]\n", "  master: local[2]\n", 1)
    (root / "spark" / "personify.yaml").write_text(config)
    spark = Workspace(root / "spark")
    start = time.perf_counter()
    for table in duck.engine.list_tables():
        if table.startswith("raw_"):
            file = root / "parquet" / f"{table}.parquet"
            file.parent.mkdir(exist_ok=True)
            duck.engine.sql(f"COPY {table} TO '{file}' (FORMAT parquet)")
            spark.engine.load_parquet(table, str(file))
    pair = Pair(duck, spark, seconds={"spark start and load": time.perf_counter() - start})
    for stage in STAGES:
        getattr(duck, stage).run()
        start = time.perf_counter()
        try:
            getattr(spark, stage).run()
        except Exception as exc:  # recorded: the parity test names the cause
            pair.errors[stage] = f"{type(exc).__name__}: {exc}"
            break
        finally:
            pair.seconds[stage] = time.perf_counter() - start
    return pair
