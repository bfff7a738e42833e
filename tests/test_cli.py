from pathlib import Path

import yaml
from typer.testing import CliRunner

from personify.cli import app

runner = CliRunner()


def test_init_then_check_reports_ok(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "w")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["check", "--workspace", str(tmp_path / "w")])
    assert result.exit_code == 0
    assert "OK" in result.output


def test_invalid_config_exits_1_with_every_problem_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "personify.yaml").write_text(
        yaml.safe_dump(
            {
                "sources": {
                    "orders": {
                        "kind": "orders",
                        "path": "o.csv",
                        "columns": {"amount": {"type": "money"}},
                    }
                },
                "segments": {"k": "lots"},
            }
        )
    )
    result = runner.invoke(app, ["check", "-w", str(tmp_path)])
    assert result.exit_code == 1
    out = result.output
    assert "sources.orders.columns.amount.type: expected a column type" in out
    assert "segments.k" in out
    assert "Traceback" not in out


def test_run_with_missing_source_file_names_it_and_changes_nothing(tmp_path: Path) -> None:
    runner.invoke(app, ["init", str(tmp_path)])
    config = tmp_path / "personify.yaml"
    text = config.read_text().replace(
        "sources: {}", "sources:\n  crm: {kind: customers, path: exports/crm.csv}"
    )
    config.write_text(text)
    result = runner.invoke(app, ["run", "-w", str(tmp_path)])
    assert result.exit_code == 1
    assert "source 'crm': file not found" in result.output
    assert "crm.csv" in result.output
    status = runner.invoke(app, ["status", "-w", str(tmp_path)])
    assert "raw_crm" not in status.output


def test_workspace_from_environment_variable(tmp_path: Path, monkeypatch) -> None:
    runner.invoke(app, ["init", str(tmp_path / "env-ws")])
    monkeypatch.setenv("PERSONIFY_WORKSPACE", str(tmp_path / "env-ws"))
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0, result.output


def test_demo_runs_end_to_end_and_reuses_its_data(tmp_path: Path) -> None:
    args = ["demo", "--dir", str(tmp_path / "d"), "--customers", "800", "--seed", "3"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "Personas" in first.output and "report.html" in first.output
    report = tmp_path / "d" / "workspace" / "output" / "report.html"
    assert report.is_file()
    personas_dir = tmp_path / "d" / "workspace" / "output" / "personas"
    before = sorted(p.name for p in personas_dir.iterdir())
    data_file = tmp_path / "d" / "data" / "sources" / "orders.parquet"
    stamp = data_file.stat().st_mtime_ns
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "Reusing demo data" in second.output
    assert data_file.stat().st_mtime_ns == stamp
    after = sorted(p.name for p in personas_dir.iterdir())
    assert after == before and any(n.endswith(".json") for n in after)
