"""Third-party append and interests on Spark (local mode): the same hand-worked values as
on DuckDB (tests/profiles/test_append.py), so the prefix join, the key normalisation and
the ranking are portable."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from personify import Workspace
from tests.profiles.test_append import AREAS, CRM, FIRMS, OPTIONS

pytestmark = pytest.mark.slow


def test_appended_values_are_the_same_on_spark(tmp_path: Path) -> None:
    sources = {}
    for name, (kind, filename, content) in (("crm", CRM), ("areas", AREAS), ("firms", FIRMS)):
        (tmp_path / filename).write_text(content)
        sources[name] = {"kind": kind, "path": str(tmp_path / filename), **OPTIONS.get(name, {})}
    folder = tmp_path / "ws"
    folder.mkdir()
    config = {"sources": sources, "engine": {"kind": "spark", "master": "local[2]"}}
    (folder / "personify.yaml").write_text(yaml.safe_dump(config))
    ws = Workspace(folder)
    try:
        ws.ingest.run()
        ws.identity.run()
        ws.profiles.run()
        rows = ws.engine.fetch_df(
            "SELECT p.ref_median_income, p.ref_industry, g.customer_id FROM profiles p "
            "JOIN golden_record g USING (person_id)"
        ).set_index("customer_id")
    finally:  # tmp_path stays: the Spark session, shared by later tests, keeps files there
        ws.close()
    assert rows["ref_median_income"].to_dict() == pytest.approx(
        {"C1": 41000.0, "C2": 38000.0, "C3": 62000.0, "C4": float("nan")}, nan_ok=True
    )
    assert rows.loc["C1", "ref_industry"] == "Manufacturing"
    assert pd.isna(rows.loc["C2", "ref_industry"])
