"""ws.audiences and `personify audiences` on a workspace whose profile table is written by
the test: 30 persons whose figures follow from their number i (expected counts and means are
worked out from those formulas by hand)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from personify import Workspace
from personify.cli import app
from personify.segments._rules import RuleError
from personify.segments.audiences import MIN_GROUP, AudienceError

runner = CliRunner()
N = 30
MARKUP = "[bold red]Leeds[/]"


def _city(i: int) -> str | None:
    return {1: MARKUP, 2: '=HYPERLINK("http://x")', 3: "-2+3", 4: None}.get(i, "York")


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    sources = {
        "crm": {
            "kind": "customers",
            "path": "crm.csv",
            "attributes": {"contract": {"source": "Contract", "role": "categorical"}},
        }
    }
    w = Workspace.init(tmp_path / "ws", sources=sources)
    w.engine.sql(
        """CREATE TABLE profiles (person_id VARCHAR, monetary DOUBLE, clv DOUBLE,
        churn_risk DOUBLE, frequency BIGINT, lifecycle_stage VARCHAR, city VARCHAR,
        email_unsubscribed BOOLEAN, attr_contract VARCHAR)"""
    )
    for i in range(1, N + 1):
        w.engine.sql(
            "INSERT INTO profiles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                f"P{i:02d}",
                10.0 * i,
                5.0 * i,
                i / 100,
                i % 4,
                "active" if i <= 20 else "lapsed",
                _city(i),
                i % 3 == 0,
                "monthly" if i % 2 else "yearly",
            ],
        )
    yield w
    w.close()


def test_count_is_persons_of_all(ws: Workspace) -> None:
    # monetary > 150: i = 16..30, 15 persons
    c = ws.audiences.count("monetary > 150")
    assert (c.persons, c.total, c.share) == (15, 30, 0.5)
    # frequency == 0: i = 4, 8, ..., 28 (7); of them lapsed (i > 20): 24, 28
    assert ws.audiences.count('frequency == 0 and lifecycle_stage == "lapsed"').persons == 2
    assert ws.audiences.count("monetary > 1000").persons == 0


def test_validate_gives_the_error_as_data(ws: Workspace) -> None:
    assert ws.audiences.validate("monetary > 150") is None
    assert ws.audiences.validate('city == "York" and monetary >') == {
        "rule": 'city == "York" and monetary >',
        "position": 30,
        "reason": "expected a value, found the end",
    }


def test_a_declared_attribute_is_reached_by_its_name(ws: Workspace) -> None:
    attrs = ws.audiences.attributes()
    assert attrs["contract"].name == "attr_contract" and attrs["contract"].type == "text"
    assert ws.audiences.count('contract == "monthly"').persons == 15  # odd i
    assert ws.audiences.count('attr_contract == "yearly"').persons == 15


def test_unknown_attribute_and_missing_profiles(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(RuleError, match=r"unknown attribute 'monetry' \(did you mean monetary"):
        ws.audiences.count("monetry > 1")
    bare = Workspace.init(tmp_path / "bare")
    with pytest.raises(Exception, match="no table"):
        bare.audiences.count("monetary > 1")
    bare.close()


def test_members_are_ids_and_the_rules_attributes(ws: Workspace) -> None:
    df = ws.audiences.members("clv >= 140", limit=2)  # i = 28, 29, 30
    assert list(df.columns) == ["person_id", "clv"]
    assert df.to_dict("list") == {"person_id": ["P28", "P29"], "clv": [140.0, 145.0]}
    everyone = ws.audiences.members("clv >= 140", limit=None, attributes=["city", "contract"])
    assert list(everyone.columns) == ["person_id", "city", "attr_contract"]
    assert len(everyone) == 3
    with pytest.raises(AudienceError, match="did you mean city"):
        ws.audiences.members("clv > 1", attributes=["cty"])


def test_summary_compares_with_everyone_and_hides_small_groups(ws: Workspace) -> None:
    s = ws.audiences.summary('lifecycle_stage == "lapsed"')  # i = 21..30
    assert (s.count.persons, s.suppressed) == (10, False)
    by = {(f.attribute, f.value): f for f in s.figures}
    # mean of 10*i over 21..30 is 255, over 1..30 is 155; clv half of it
    assert by[("monetary", None)].audience == pytest.approx(255.0)
    assert by[("monetary", None)].everyone == pytest.approx(155.0)
    assert by[("clv", None)].audience == pytest.approx(127.5)
    assert by[("churn_risk", None)].audience == pytest.approx(0.255)
    # every member is lapsed; a third of everyone is
    assert by[("lifecycle_stage", "lapsed")].audience == 1.0
    assert by[("lifecycle_stage", "lapsed")].everyone == pytest.approx(10 / 30)
    small = ws.audiences.summary("monetary > 250")  # i = 26..30: 5 persons
    assert small.count.persons == 5 < MIN_GROUP
    assert small.suppressed and small.figures == []


def test_segment_reads_the_latest_run_and_its_arrivals(ws: Workspace) -> None:
    e = ws.engine
    assert "segment" not in ws.audiences.attributes()  # no run yet
    e.sql("CREATE TABLE segment_runs (run_id VARCHAR, created_at TIMESTAMP, k INTEGER)")
    e.sql("INSERT INTO segment_runs VALUES ('old', '2026-01-01', 2), ('new', '2026-02-01', 2)")
    e.sql(
        "CREATE TABLE segment_membership (run_id VARCHAR, person_id VARCHAR, "
        "segment_id INTEGER, distance DOUBLE)"
    )
    # Run 'new': P01..P10 in segment 1, P11..P20 in 2; 'old' put everyone in 1.
    for i in range(1, N + 1):
        e.sql("INSERT INTO segment_membership VALUES ('old', ?, 1, 0)", [f"P{i:02d}"])
    for i in range(1, 21):
        e.sql(
            "INSERT INTO segment_membership VALUES ('new', ?, ?, 0)",
            [f"P{i:02d}", 1 if i <= 10 else 2],
        )
    assert ws.audiences.attributes()["segment"].type == "number"
    assert ws.audiences.count("segment == 2").persons == 10
    assert ws.audiences.count("segment is null").persons == 10  # P21..P30: not in 'new'
    # P21..P25 arrived later and were placed in segment 2 (of 'new'; 'old' is ignored).
    e.sql(
        "CREATE TABLE segment_arrivals (run_id VARCHAR, person_id VARCHAR, "
        "segment_id INTEGER, distance DOUBLE, assigned_at TIMESTAMP)"
    )
    for i in range(21, 26):
        e.sql("INSERT INTO segment_arrivals VALUES ('new', ?, 2, 0, NULL)", [f"P{i:02d}"])
        e.sql("INSERT INTO segment_arrivals VALUES ('old', ?, 9, 0, NULL)", [f"P{i:02d}"])
    # segment 2: P11..P25; with monetary > 200 (i > 20): P21..P25
    assert ws.audiences.count("segment == 2").persons == 15
    assert ws.audiences.count("segment == 2 and monetary > 200").persons == 5
    df = ws.audiences.members("segment in (2) and monetary > 240", limit=None)
    assert df.to_dict("list") == {
        "person_id": ["P25"],
        "segment": [2],
        "monetary": [250.0],
    }
    s = ws.audiences.summary("segment == 1")  # P01..P10: mean monetary 55
    by = {f.attribute: f for f in s.figures}
    assert by["monetary"].audience == pytest.approx(55.0) and "segment" not in by


def test_saved_audiences_add_list_replace_remove(ws: Workspace) -> None:
    a = ws.audiences.add("big spenders", "monetary > 200")  # i = 21..30
    assert (a.persons, a.total) == (10, 30)
    with pytest.raises(AudienceError, match="exists"):
        ws.audiences.add("big spenders", "monetary > 100")
    ws.audiences.add("big spenders", "monetary > 100", replace=True)  # i = 11..30
    ws.audiences.add("lapsed", 'lifecycle_stage == "lapsed"')
    saved = ws.audiences.saved()
    assert [(x.name, x.rule, x.persons) for x in saved] == [
        ("big spenders", "monetary > 100", 20),
        ("lapsed", 'lifecycle_stage == "lapsed"', 10),
    ]
    assert saved[0].created_at == a.created_at
    with pytest.raises(RuleError):
        ws.audiences.add("broken", "monetary >")
    assert [x.name for x in ws.audiences.saved()] == ["big spenders", "lapsed"]
    ws.audiences.remove("lapsed")
    with pytest.raises(AudienceError, match="did you mean big spenders"):
        ws.audiences.get("big spender")


@pytest.mark.parametrize(
    "name", ["", " x", "x ", "a;b", "[red]x[/]", "x\n", "a" * 65, "'; DROP TABLE audiences; --"]
)
def test_audience_names_are_checked(ws: Workspace, name: str) -> None:
    with pytest.raises(AudienceError, match="an audience name is"):
        ws.audiences.add(name, "monetary > 1")


def test_a_count_is_refreshed(ws: Workspace) -> None:
    ws.audiences.add("rich", "monetary > 250")
    ws.engine.sql("INSERT INTO profiles (person_id, monetary) VALUES ('P99', 999)")
    assert ws.audiences.get("rich").persons == 5
    fresh = ws.audiences.refresh("rich")
    assert (fresh.persons, fresh.total) == (6, 31)
    assert ws.audiences.get("rich").persons == 6


def test_export_csv_and_parquet(ws: Workspace, tmp_path: Path) -> None:
    ws.audiences.add("few", "clv <= 20")  # i = 1..4
    out = ws.audiences.export("few", tmp_path / "out" / "few.csv", attributes=["city", "clv"])
    assert (out.rows, out.columns) == (4, ["person_id", "city", "clv"])
    text = (tmp_path / "out" / "few.csv").read_text()
    # Formulas are defused with an apostrophe; markup is data, written as it is.
    assert text.splitlines() == [
        "person_id,city,clv",
        f"P01,{MARKUP},5.0",
        'P02,"\'=HYPERLINK(""http://x"")",10.0',
        "P03,'-2+3,15.0",
        "P04,,20.0",
    ]
    ws.audiences.export("few", tmp_path / "few.parquet")
    df = pd.read_parquet(tmp_path / "few.parquet")
    assert df.to_dict("list") == {
        "person_id": ["P01", "P02", "P03", "P04"],
        "clv": [5.0, 10.0, 15.0, 20.0],
    }
    with pytest.raises(AudienceError, match="format"):
        ws.audiences.export("few", tmp_path / "few.xlsx")
    assert not list(tmp_path.glob("out/.export-*"))


def test_cli_audiences_escape_customer_values(ws: Workspace, tmp_path: Path) -> None:
    w = ["-w", str(ws.path)]
    ws.close()  # the CLI opens the database itself
    result = runner.invoke(app, ["audiences", "add", "leeds", f'city == "{MARKUP}"', *w])
    assert result.exit_code == 0, result.output
    assert "1 of 30 persons (3.3%)" in result.output
    result = runner.invoke(app, ["audiences", "list", *w])
    assert result.exit_code == 0 and MARKUP in result.output.replace("\n", "")
    result = runner.invoke(app, ["audiences", "show", "leeds", "--sample", "1", *w])
    assert result.exit_code == 0, result.output
    assert "No figures: fewer than 10 persons" in result.output
    assert "P01" in result.output and MARKUP in result.output
    result = runner.invoke(app, ["audiences", "count", "lifecycle_stage == 'lapsed'", *w])
    assert result.exit_code == 0 and "10 of 30 persons (33.3%)" in result.output
    result = runner.invoke(app, ["audiences", "count", "clv > '[/]'", *w])
    assert result.exit_code == 1 and "cannot compare 'clv'" in result.output
    assert "Traceback" not in result.output
    target = tmp_path / "leeds.csv"
    result = runner.invoke(app, ["audiences", "export", "leeds", "--to", str(target), *w])
    assert result.exit_code == 0 and target.read_text().splitlines()[1] == f"P01,{MARKUP}"
    result = runner.invoke(app, ["audiences", "attributes", *w])
    assert result.exit_code == 0 and "contract (= attr_contract)" in result.output
    assert runner.invoke(app, ["audiences", "remove", "leeds", *w]).exit_code == 0
    result = runner.invoke(app, ["audiences", "show", "leeds", *w])
    assert result.exit_code == 1 and "no audience named 'leeds'" in result.output
