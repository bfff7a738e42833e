"""Comparing two runs, on memberships written by hand (the expected matching and events
are worked out by hand in the comments)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import chain
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from personify import Workspace
from personify.cli import app
from personify.segments.compare import compare_runs


def _write_runs(
    ws: Workspace,
    runs: dict[str, dict[int, list[int]]],
    values: dict[int, dict[str, float]],
) -> None:
    e = ws.engine
    columns = sorted({c for v in values.values() for c in v})
    e.sql(
        "CREATE TABLE profiles (person_id VARCHAR, "
        + ", ".join(f"{c} DOUBLE" for c in columns)
        + ")"
    )
    people = sorted(values)
    e.append_arrow(
        "profiles",
        pa.table(
            {"person_id": [f"P{p}" for p in people]}
            | {c: [values[p][c] for p in people] for c in columns}
        ),
    )
    e.sql(
        "CREATE TABLE segment_runs (run_id VARCHAR, created_at TIMESTAMP, k INTEGER, "
        "features VARCHAR)"
    )
    e.sql(
        """CREATE TABLE segment_membership (run_id VARCHAR, person_id VARCHAR,
        segment_id INTEGER, distance DOUBLE)"""
    )
    e.sql("CREATE TABLE segments (run_id VARCHAR, segment_id INTEGER, avg_revenue DOUBLE)")
    for day, (run, segments) in enumerate(runs.items(), start=1):
        e.sql(
            "INSERT INTO segment_runs VALUES (?, ?, ?, '[]')",
            [run, f"2026-01-0{day} 00:00:00", len(segments)],
        )
        for s, persons in segments.items():
            members = {
                "run_id": [run] * len(persons),
                "person_id": [f"P{p}" for p in persons],
                "segment_id": pa.array([s] * len(persons), pa.int32()),
                "distance": [0.0] * len(persons),
            }
            e.append_arrow("segment_membership", pa.table(members))
            mean = sum(values[p].get("monetary", 0) for p in persons) / len(persons)
            e.sql("INSERT INTO segments VALUES (?, ?, ?)", [run, s, mean])


def r(a: int, b: int) -> list[int]:
    return list(range(a, b + 1))


# Run A: five segments of 100. Run B, hand-made from them:
#   B1 = 1..90                 A1 keeps 90%                      -> A1 persists as B1
#   B2 = 101..145, B3 = 91..100 + 146..185
#                              A2 sends 45% to B2, 40% to B3     -> A2 splits into B2, B3
#   B4 = 201..390              A3 sends 100%, A4 90% there       -> A3 and A4 merge into B4
#   B5 = 186..200 + 391..400 + 501..560 (60 new persons)         -> B5 is new
#   A5 = 401..500 is in no segment of B                          -> A5 vanishes
RUN_A = {1: r(1, 100), 2: r(101, 200), 3: r(201, 300), 4: r(301, 400), 5: r(401, 500)}
RUN_B = {
    1: r(1, 90),
    2: r(101, 145),
    3: r(91, 100) + r(146, 185),
    4: r(201, 390),
    5: r(186, 200) + r(391, 400) + r(501, 560),
}


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    w = Workspace.init(tmp_path / "ws")
    people = set(chain(*RUN_A.values(), *RUN_B.values()))
    values = {
        p: {"monetary": float(p), "frequency": 1.0 + p % 3, "age": 20.0 + p % 50} for p in people
    }
    _write_runs(w, {"run-a": RUN_A, "run-b": RUN_B}, values)
    yield w
    w.close()


def test_events_of_a_hand_made_refit(ws: Workspace) -> None:
    c = compare_runs(ws, "run-a", "run-b")
    assert c.basis == "membership"
    assert (c.shared_persons, c.persons_a, c.persons_b) == (400, 500, 460)
    events = [(t.event, t.before, t.after) for t in c.transitions]
    assert events == [
        ("persist", (1,), (1,)),
        ("merge", (3, 4), (4,)),
        ("split", (2,), (2, 3)),
        ("vanish", (5,), ()),
        ("new", (), (5,)),
    ]
    t = {x.event: x for x in c.transitions}
    # A1 and B1 share 90 of 100 + 90 - 90 = 100 persons.
    assert t["persist"].jaccard == pytest.approx(0.9)
    assert (t["persist"].size_before, t["persist"].size_after) == (100, 90)
    # Mean revenue: A1 is 1..100 (50.5), B1 is 1..90 (45.5).
    assert (t["persist"].avg_revenue_before, t["persist"].avg_revenue_after) == (50.5, 45.5)
    # The merge: A3 (mean 250.5) and A4 (350.5), 100 each, into B4 = 201..390 (295.5);
    # its Jaccard is that of A3, the larger part: 100 / (100 + 190 - 100).
    assert t["merge"].avg_revenue_before == pytest.approx(300.5)
    assert t["merge"].avg_revenue_after == pytest.approx(295.5)
    assert t["merge"].jaccard == pytest.approx(100 / 190)
    assert t["split"].jaccard == pytest.approx(45 / 100)  # B2: 45 / (100 + 45 - 45)
    assert c.events() == {"persist": 1, "split": 1, "merge": 1, "vanish": 1, "new": 1}


def test_the_matching_maximises_the_total_jaccard(ws: Workspace) -> None:
    # Non-zero Jaccards: A1-B1 .9, A1-B3 10/140, A2-B2 .45, A2-B3 40/110, A2-B5 15/170,
    # A3-B4 100/190, A4-B4 90/200, A4-B5 10/175. The best one-to-one total (1.933) pairs
    # A1-B1, A2-B2, A3-B4, A4-B5; A5 is left with B3, with which it shares nobody.
    c = compare_runs(ws, "run-a", "run-b")
    assert c.matching == [(1, 1), (2, 2), (3, 4), (4, 5)]
    assert c.jaccard[(2, 3)] == pytest.approx(40 / 110)
    assert c.overlap[(4, 5)] == 10


def test_a_run_compared_with_itself_persists_whole(ws: Workspace) -> None:
    c = compare_runs(ws, "run-b", "run-b")
    assert [(t.event, t.before, t.after) for t in c.transitions] == [
        ("persist", (s,), (s,)) for s in range(1, 6)
    ]
    assert all(t.jaccard == 1.0 and t.distance == 0.0 for t in c.transitions)


def test_runs_on_different_persons_are_matched_by_centroids(tmp_path: Path) -> None:
    # A: 50 persons aged 20 (segment 1), 50 aged 60 (2). B, other persons: 50 aged 60 (1),
    # 50 aged 20 (2), 10 aged 90 (3). Over all 210: mean 8900/210, variance
    # 481000/210 - (8900/210)^2 = 494.331, sd 22.2335: A1 and B1 are 40/22.2335 = 1.799 sd
    # apart, A1 and B2 0; B3 is 30/22.2335 = 1.349 sd from A2, too far: new.
    w = Workspace.init(tmp_path / "ws")
    ages = {p: 20.0 for p in r(1, 50)} | {p: 60.0 for p in r(51, 100)}
    ages |= {p: 60.0 for p in r(1001, 1050)} | {p: 20.0 for p in r(1051, 1100)}
    ages |= {p: 90.0 for p in r(1101, 1110)}
    runs = {
        "a": {1: r(1, 50), 2: r(51, 100)},
        "b": {1: r(1001, 1050), 2: r(1051, 1100), 3: r(1101, 1110)},
    }
    _write_runs(w, runs, {p: {"age": a} for p, a in ages.items()})
    c = compare_runs(w, "a", "b")
    w.close()
    assert (c.basis, c.shared_persons) == ("centroids", 0)
    assert [(t.event, t.before, t.after) for t in c.transitions] == [
        ("persist", (1,), (2,)),
        ("persist", (2,), (1,)),
        ("new", (), (3,)),
    ]
    assert c.distance[(1, 1)] == pytest.approx(1.799, rel=1e-3)
    assert c.distance[(2, 3)] == pytest.approx(1.349, rel=1e-3)
    assert c.distance[(1, 2)] == 0.0


def test_cli_compare_prints_the_events(ws: Workspace) -> None:
    path = str(ws.path)
    ws.close()
    result = CliRunner().invoke(app, ["segments", "compare", "run-a", "run-b", "-w", path])
    assert result.exit_code == 0, result.output
    assert "1 persist, 1 split, 1 merge, 1 vanish, 1 new" in result.output
    assert "400 persons in both, matched by membership" in " ".join(result.output.split())
    # Without runs named: the one before last against the latest (run-a, then run-b).
    result = CliRunner().invoke(app, ["segments", "compare", "-w", path])
    assert result.exit_code == 0 and "run-a (5 segments" in result.output
    result = CliRunner().invoke(app, ["segments", "compare", "run-", "run-b", "-w", path])
    assert result.exit_code == 1 and "more than one run starts so" in result.output
    # `personify segments` alone still fits a run (on the profiles, without the hand-made
    # tables of an older layout; k fixed to keep it short).
    with Workspace(path) as again:
        for table in ("segment_runs", "segment_membership", "segments"):
            again.engine.drop_table(table)
    config = Path(path) / "personify.yaml"
    config.write_text(config.read_text().replace("  k: auto", "  k: 3", 1))
    result = CliRunner().invoke(app, ["segments", "-w", path])
    assert result.exit_code == 0, result.output
    assert re.search(r"run seg-\w+: (.+, )?k=\d", result.output)


@pytest.mark.slow
def test_audiences_arrivals_and_compare_on_spark(tmp_path: Path) -> None:
    """The same hand-made runs on a Spark workspace give the same events, and saved
    audiences and later arrivals work there too."""
    w = Workspace.init(tmp_path / "ws")
    config = w.path / "personify.yaml"
    config.write_text(
        config.read_text()
        .replace("  kind: duckdb\n", "  kind: spark\n", 1)
        .replace("master: local[*]", "master: local[2]", 1)
    )
    w.close()
    local = Workspace.init(tmp_path / "staging")  # builds the tables, copied over as Parquet
    people = set(chain(*RUN_A.values(), *RUN_B.values()))
    values = {p: {"monetary": float(p)} for p in people}
    _write_runs(local, {"run-a": RUN_A, "run-b": RUN_B}, values)
    for table in ("profiles", "segment_runs", "segment_membership", "segments"):
        local.engine.sql(f"COPY {table} TO '{tmp_path / table}.parquet' (FORMAT parquet)")
    local.close()
    spark = Workspace(tmp_path / "ws")
    try:
        assert type(spark.engine).__name__ == "SparkEngine"
        for table in ("profiles", "segment_runs", "segment_membership", "segments"):
            spark.engine.load_parquet(table, str(tmp_path / f"{table}.parquet"))
        c = compare_runs(spark, "run-a", "run-b")
        assert [(t.event, t.before, t.after) for t in c.transitions] == [
            ("persist", (1,), (1,)),
            ("merge", (3, 4), (4,)),
            ("split", (2,), (2, 3)),
            ("vanish", (5,), ()),
            ("new", (), (5,)),
        ]
        assert c.matching == [(1, 1), (2, 2), (3, 4), (4, 5)]
        # Persons 401..500 are in run A only: arrivals of run B, placed by monetary alone.
        from personify.segments.arrivals import assign_arrivals

        placed = assign_arrivals(spark, "run-b")
        assert (placed.arrivals, placed.unassigned) == (100, 0)
        spark.audiences.add("top", "monetary > 500 and monetary <= 550")
        assert [(a.name, a.persons, a.total) for a in spark.audiences.saved()] == [("top", 50, 560)]
        spark.audiences.add("top", "monetary between 1 and 10", replace=True)
        assert spark.audiences.get("top").persons == 10
        out = spark.audiences.export("top", tmp_path / "top.csv")
        assert out.rows == 10 and (tmp_path / "top.csv").read_text().startswith(
            "person_id,monetary\nP1,1.0\nP10,10.0\n"
        )
        spark.audiences.remove("top")
        assert spark.audiences.saved() == []
    finally:
        spark.close()
