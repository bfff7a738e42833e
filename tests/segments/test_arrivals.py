"""Later arrivals placed in a run's segments, on a membership written by hand (distances
worked out by hand in the comments)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from personify import Workspace
from personify.cli import app
from personify.segments.arrivals import assign_arrivals, load_assigner

# Three segments of five members. Ages 18..22 around 20, 58..62 around 60, 38..42 around
# 40 (variance 2 in each); store shares 0.0..0.2 around 0.1, 0.8..1.0 around 0.9,
# 0.4..0.6 around 0.5 (variance 0.005). Pooled within-segment variances: 5 * 2 * 3 / (15 - 3)
# = 2.5 for age and 5 * 0.005 * 3 / 12 = 0.00625 for the store share.
MEMBERS = {
    1: [(18 + i, 0.05 * i) for i in range(5)],
    2: [(58 + i, 0.8 + 0.05 * i) for i in range(5)],
    3: [(38 + i, 0.4 + 0.05 * i) for i in range(5)],
}
# X1 sits on segment 1's centre; X2 knows only its age (40: segment 3's); X3 is 10 years
# from segments 1 and 3 (10^2 / 2.5 = 40 each) and on segment 3's store share, 0.4 from
# segment 1's (0.4^2 / 0.00625 = 25.6): segment 3 at sqrt(40); X4 has nothing to go by.
ARRIVALS = {
    "X1": (20.0, 0.1),
    "X2": (40.0, None),
    "X3": (30.0, 0.5),
    "X4": (None, None),
}


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    w = Workspace.init(tmp_path / "ws")
    e = w.engine
    people = [(f"M{s}{i}", a, st) for s, rows in MEMBERS.items() for i, (a, st) in enumerate(rows)]
    people += [(p, a, st) for p, (a, st) in ARRIVALS.items()]
    e.sql("CREATE TABLE profiles (person_id VARCHAR, age DOUBLE, store_share DOUBLE)")
    e.append_arrow(
        "profiles",
        pa.table(
            {
                "person_id": [p for p, _, _ in people],
                "age": pa.array([a for _, a, _ in people], pa.float64()),
                "store_share": pa.array([st for _, _, st in people], pa.float64()),
            }
        ),
    )
    e.sql(
        "CREATE TABLE segment_runs (run_id VARCHAR, created_at TIMESTAMP, k INTEGER, "
        "features VARCHAR)"
    )
    e.sql("INSERT INTO segment_runs VALUES ('run-1', '2026-01-01', 3, '[\"age\"]')")
    e.sql(
        "CREATE TABLE segment_membership (run_id VARCHAR, person_id VARCHAR, "
        "segment_id INTEGER, distance DOUBLE)"
    )
    for s, rows in MEMBERS.items():
        for i in range(len(rows)):
            e.sql("INSERT INTO segment_membership VALUES ('run-1', ?, ?, 0)", [f"M{s}{i}", s])
    yield w
    w.close()


def _placed(ws: Workspace) -> dict[str, tuple[int | None, float | None]]:
    rows = ws.engine.sql(
        "SELECT person_id, segment_id, distance FROM segment_arrivals WHERE run_id = 'run-1'"
    ).fetchall()
    return {p: (s, d) for p, s, d in rows}


def test_arrivals_go_to_the_nearest_segment(ws: Workspace) -> None:
    result = assign_arrivals(ws)
    assert (result.run_id, result.arrivals, result.assigned, result.unassigned) == (
        "run-1",
        4,
        3,
        1,
    )
    assert result.by_segment == {1: 1, 3: 2}
    assert result.agreement == 1.0  # every member is nearest its own segment
    placed = _placed(ws)
    assert placed["X1"][0] == 1 and placed["X1"][1] == pytest.approx(0, abs=1e-9)
    assert placed["X2"][0] == 3 and placed["X2"][1] == pytest.approx(0, abs=1e-9)
    assert placed["X3"][0] == 3 and placed["X3"][1] == pytest.approx(math.sqrt(40))
    assert placed["X4"] == (None, None)


def test_the_rule_is_stored_and_reused(ws: Workspace) -> None:
    assign_arrivals(ws)
    rule = load_assigner(ws, "run-1")
    assert rule is not None
    assert [i.column for i in rule.inputs] == ["age", "store_share"]
    assert rule.means[1] == pytest.approx([20.0, 0.1])
    assert rule.sds == pytest.approx([math.sqrt(2.5), math.sqrt(0.00625)])
    # Members' profiles change; the stored rule does not, nor do the arrivals' segments.
    ws.engine.sql("UPDATE profiles SET age = age + 100 WHERE person_id LIKE 'M1%'")
    ws.engine.sql("INSERT INTO profiles VALUES ('X5', 61, 0.9)")
    again = assign_arrivals(ws)
    assert again.arrivals == 5 and _placed(ws)["X1"][0] == 1
    assert _placed(ws)["X5"][0] == 2
    assert ws.engine.scalar("SELECT count(*) FROM segment_assigners") == 1


def test_cli_assign(ws: Workspace) -> None:
    path = str(ws.path)
    ws.close()
    result = CliRunner().invoke(app, ["segments", "assign", "-w", path])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "4 persons are not in run run-1: 3 placed, 1 without any attribute" in out
    result = CliRunner().invoke(app, ["segments", "assign", "-w", path, "run-9"])
    assert result.exit_code == 1 and "no segmentation run 'run-9'" in result.output
