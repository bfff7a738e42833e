"""One small demo company run on DuckDB and on Spark from the same files."""

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
    """One demo company's files, loaded by each workspace's own ingest; every stage on both.

    The Spark workspace ingests in its DuckDB file and publishes to Spark
    (ingest/_publish.py): what the stages read there is what Spark was handed."""
    generate_demo_company(root / "data", customers=customers, seed=seed)
    duck = Workspace.init(
        root / "duck", sources=demo_sources(str(root / "data" / "sources")), locale=DEMO_LOCALE
    )
    (root / "spark").mkdir()
    config = (root / "duck" / "personify.yaml").read_text()
    config = config.replace("  kind: duckdb\n", "  kind: spark\n", 1)
    config = config.replace("  master: local[*]\n", "  master: local[2]\n", 1)
    (root / "spark" / "personify.yaml").write_text(config)
    spark = Workspace(root / "spark")
    pair = Pair(duck, spark)
    for stage in ("ingest", *STAGES):
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
