"""`personify demo --second-quarter`: the drift report names the demo's planned shift.

The truth (which latent type grew, which moved its purchases to another channel) comes from
the generator's truth/ files, never from the pipeline; each persona is tied to a type by
its members (the persons behind their records, per truth/records.parquet).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest

from personify.refresh import CHANNEL_SHIFT, SHARE_SHIFT

# Types left alone by the shift: their persona must not be reported as grown, shrunk or
# moved. Only personas at least this pure are held to it (a mixed persona carries some of
# the shifted type's members, and with them part of the shift).
PURE = 0.5


@pytest.fixture(scope="module")
def shifted(shifted_demo: Path) -> dict[str, Any]:
    root = shifted_demo
    output = (root / "cli-output.txt").read_text(encoding="utf-8")
    data, ws = root / "data", root / "workspace"
    truth = json.loads((data / "truth" / "shift.json").read_text())
    report = json.loads((ws / "output" / "drift.json").read_text())
    con = duckdb.connect(str(ws / "personify.duckdb"), read_only=True)
    # each workspace person -> the true type most of their records belong to
    rows = con.sql(
        f"""WITH t AS (SELECT r.source, r.record_id, p.type
              FROM read_parquet('{data}/truth/records.parquet') r
              JOIN read_parquet('{data}/truth/persons.parquet') p USING (person_id)),
        v AS (SELECT l.person_id, t.type, count(*) AS n FROM identity_links l
              JOIN t ON t.source = l.source AND t.record_id = l.record_id GROUP BY 1, 2)
        SELECT m.run_id, m.segment_id, arg_max(v.type, v.n) AS type
        FROM segment_membership m JOIN v USING (person_id)
        WHERE m.segment_id IS NOT NULL GROUP BY m.run_id, m.segment_id, m.person_id"""
    ).fetchall()
    pictures = dict(
        con.execute(
            """SELECT p.slug, pp.picture FROM persona_pictures pp JOIN personas p
            USING (segment_run, segment_id) WHERE pp.segment_run = ?""",
            [report["segment_run"]],
        ).fetchall()
    )
    con.close()
    types: dict[tuple[str, int], Counter[str]] = {}
    for run, sid, kind in rows:
        types.setdefault((run, int(sid)), Counter())[kind] += 1
    return {
        "truth": truth,
        "report": report,
        "types": types,
        "output": output,
        "pictures": pictures,
    }


def _persona_of(s: dict[str, Any], kind: str) -> tuple[dict[str, Any], float]:
    """The matched persona of the new run holding the most members of ``kind``, and the
    share of its members that are of that type."""
    run = s["report"]["segment_run"]
    by_sid = {m["persona"]["segment_id"]: m for m in s["report"]["matched"]}
    sid = max(
        (sid for (r, sid) in s["types"] if r == run),
        key=lambda sid: s["types"][run, sid][kind],
    )
    assert sid in by_sid, f"the persona of {kind} is not matched to one of the previous run"
    counts = s["types"][run, sid]
    return by_sid[sid], counts[kind] / sum(counts.values())


def test_the_report_names_the_growing_type(shifted: dict[str, Any]) -> None:
    truth = shifted["truth"]
    m, _purity = _persona_of(shifted, truth["grows"])
    grew = [c for c in m["changes"] if c["kind"] == "grew"]
    assert grew, m["changes"]
    assert grew[0]["share_change"] >= SHARE_SHIFT
    assert m["customers"]["after"] > m["customers"]["before"]
    # the persona's members of the growing type rose by at least half the newcomers planted
    old = shifted["types"][shifted["report"]["previous_run"], m["previous"]["segment_id"]]
    new = shifted["types"][shifted["report"]["segment_run"], m["persona"]["segment_id"]]
    assert new[truth["grows"]] - old[truth["grows"]] >= truth["newcomers_added"] / 2
    assert m["persona"]["name"] == m["previous"]["name"]  # it persists, so it keeps its name
    assert "grew" in shifted["output"]


def test_the_report_names_the_channel_change(shifted: dict[str, Any]) -> None:
    truth = shifted["truth"]
    m, purity = _persona_of(shifted, truth["moves"])
    assert purity >= PURE
    moved = {c["channel"]: c for c in m["changes"] if c["kind"] == "channel"}
    assert moved[truth["channel_to"]]["change"] >= CHANNEL_SHIFT
    assert moved[truth["channel_from"]]["change"] <= -CHANNEL_SHIFT
    recent = m["recent_channels"]
    assert recent["windows"]["after"] == truth["quarter"]  # the planned quarter, to the day
    assert not any(c["kind"] in ("grew", "shrank") for c in m["changes"])
    assert m["persona"]["name"] == m["previous"]["name"]
    assert f"{truth['channel_to']}: " in shifted["output"]


def test_types_left_alone_are_not_reported_as_shifted(shifted: dict[str, Any]) -> None:
    truth = shifted["truth"]
    checked = []
    for kind in ("young_digital", "value_families", "affluent_professionals", "store_loyalists"):
        if kind in (truth["grows"], truth["moves"]):
            continue
        m, purity = _persona_of(shifted, kind)
        if purity < PURE:
            continue
        checked.append(kind)
        assert m["changes"] == [], (kind, m["changes"])
        assert abs(m["share_change"]) < SHARE_SHIFT
    assert len(checked) >= 2  # at least two unchanged types have a persona of their own


def test_persisting_personas_keep_name_and_picture(shifted: dict[str, Any]) -> None:
    matched = shifted["report"]["matched"]
    assert matched
    for m in matched:
        assert m["persona"]["name"] == m["previous"]["name"]
        # the first run drew each picture from its slug; the second inherits it
        assert shifted["pictures"][m["persona"]["slug"]] == m["previous"]["slug"]
        # matched by members, with the centroid distance of segments/compare.py beside it
        assert m["jaccard"] >= shifted["report"]["match_min_jaccard"]
        assert m["centroid_distance"] is not None and m["centroid_distance"] >= 0


def test_each_persona_has_its_history(shifted_demo: Path) -> None:
    from personify import Workspace
    from personify.refresh import lines

    report = json.loads((shifted_demo / "workspace" / "output" / "drift.json").read_text())
    with Workspace(shifted_demo / "workspace") as ws:
        found = lines(ws, report["segment_run"])
    for m in report["matched"]:
        line = found[m["persona"]["slug"]]
        assert [v["segment_run"] for v in line] == [report["segment_run"], report["previous_run"]]
        assert [v["customers"] for v in line] == [
            m["customers"]["after"],
            m["customers"]["before"],
        ]
