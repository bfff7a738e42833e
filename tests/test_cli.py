import re
from pathlib import Path

import yaml
from typer.testing import CliRunner

from personify.cli import app
from personify.web.users import UserStore

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
    assert "acquisition cost by rule campaign_month" in first.output
    ws_dir = tmp_path / "d" / "workspace"
    # it ends by telling how to open the web app: no admin yet, so how to add one first
    tail = first.output[first.output.index("Open the personas in the web app") :]
    assert f"personify users add admin --role admin -w {ws_dir}" in tail
    assert f"personify serve -w {ws_dir}" in tail and "http://127.0.0.1:8080/" in tail
    UserStore(ws_dir).add("boss", "admin", "a long password")
    report = tmp_path / "d" / "workspace" / "output" / "report.html"
    assert report.is_file()
    personas_dir = tmp_path / "d" / "workspace" / "output" / "personas"
    before = sorted(p.name for p in personas_dir.iterdir())
    data_file = tmp_path / "d" / "data" / "sources" / "orders.parquet"
    stamp = data_file.stat().st_mtime_ns
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "Reusing demo data" in second.output
    assert "users add" not in second.output and "users list" in second.output
    assert data_file.stat().st_mtime_ns == stamp
    after = sorted(p.name for p in personas_dir.iterdir())
    assert after == before and any(n.endswith(".json") for n in after)


# Values that Rich would read as markup: "[/]" closes nothing (a crash), "[link=...]"
# makes a clickable link. Printed, they must appear as they are.
CLOSING = "[/]"
LINK = "[link=https://evil.example]click[/link]"
SHORT_LINK = "[link=a.b]c[/link]"


def _flat(text: str) -> str:
    """Output without whitespace: Rich wraps long lines and table cells."""
    return re.sub(r"\s", "", text)


def test_quarantined_values_print_literally(tmp_path: Path) -> None:
    (tmp_path / "o.csv").write_text(
        "order_id,order_ts,total\n"
        "O1,2024-01-01T10:00:00,10\n"
        f"O2,2024-01-01T10:00:00,{CLOSING}\n"
        f'O3,"{LINK}",5\n'
    )
    runner.invoke(app, ["init", str(tmp_path)])
    config = tmp_path / "personify.yaml"
    source = "  orders: {kind: orders, path: o.csv, max_bad_fraction: 0.9}"
    config.write_text(config.read_text().replace("sources: {}", "sources:\n" + source))
    result = runner.invoke(app, ["ingest", "-w", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = _flat(result.output)
    assert _flat(f"total: expected a number, got '{CLOSING}'") in out
    assert _flat(f"got '{LINK}'") in out


def test_config_values_and_paths_print_literally(tmp_path: Path) -> None:
    runner.invoke(app, ["init", str(tmp_path)])
    config = tmp_path / "personify.yaml"
    text = config.read_text()
    name = f"{CLOSING}[link=file:x]y[/link]"  # no "//": a path keeps one slash
    source = f'  crm: {{kind: customers, path: "exports/{name}.csv"}}'
    config.write_text(text.replace("sources: {}", "sources:\n" + source))
    result = runner.invoke(app, ["run", "-w", str(tmp_path)])
    assert result.exit_code == 1
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    assert _flat(f"exports/{name}.csv") in _flat(result.output)

    config.write_text(text.replace("k: auto", f'k: "{CLOSING}"'))
    result = runner.invoke(app, ["check", "-w", str(tmp_path)])
    assert result.exit_code == 1
    assert _flat("segments.k") in _flat(result.output)
    assert _flat(f"'{CLOSING}'") in _flat(result.output)
    assert "Traceback" not in result.output


def test_persona_text_prints_literally(tmp_path: Path, monkeypatch) -> None:
    # Taglines are made from attribute labels; make one carry markup-like text.
    from personify.personas.build import PersonaBuilder

    real = PersonaBuilder._document

    def with_markup(self, *args, **kwargs):
        doc = real(self, *args, **kwargs)
        return {**doc, "tagline": f"Buys {CLOSING} {SHORT_LINK}."}

    monkeypatch.setattr(PersonaBuilder, "_document", with_markup)
    result = runner.invoke(app, ["demo", "--dir", str(tmp_path), "--customers", "300"])
    assert result.exit_code == 0, result.output
    # The "in one line" column, its wrapped lines joined (a cell shortens a word longer
    # than the column with an ellipsis: the link is kept short).
    rows = [line.split("│") for line in result.output.splitlines() if line.count("│") == 5]
    cells = [row[4].strip() for row in rows]
    assert f"Buys {CLOSING} {SHORT_LINK}." in " ".join(c for c in cells if c)


def test_init_over_a_workspace_names_the_force_flag(tmp_path: Path) -> None:
    runner.invoke(app, ["init", str(tmp_path)])
    result = runner.invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 1
    assert "use --force" in " ".join(result.output.split())
    assert runner.invoke(app, ["init", str(tmp_path), "--force"]).exit_code == 0


def test_check_reports_an_attribute_role_clash_before_reading_any_file(tmp_path: Path) -> None:
    # The files do not exist: the clash is found in personify.yaml alone.
    (tmp_path / "personify.yaml").write_text(
        yaml.safe_dump(
            {
                "sources": {
                    "crm": {
                        "kind": "customers",
                        "path": "crm.csv",
                        "attributes": {"plan": {"role": "categorical"}},
                    },
                    "billing": {
                        "kind": "customer_attributes",
                        "path": "billing.csv",
                        "attributes": {"plan": {"role": "numeric"}},
                    },
                }
            },
            sort_keys=False,
        )
    )
    result = runner.invoke(app, ["check", "-w", str(tmp_path)])
    assert result.exit_code == 1
    out = " ".join(result.output.split())  # Rich may wrap the line
    assert "sources.billing.attributes.plan.role: 'numeric' but source 'crm'" in out
    assert "declares it 'categorical'" in out
    assert "crm.csv" not in out and "billing.csv" not in out  # no file was looked for
    assert "Traceback" not in out
