"""`personify segments` prints the run's evidence and a table; `explain` one segment."""

from typer.testing import CliRunner

from personify.cli import app
from tests.segments.test_features import _workspace


def test_segments_summary_and_explain(make_workspace) -> None:
    ws, _, _ = _workspace(make_workspace, {})
    path = str(ws.path)
    ws.close()
    runner = CliRunner()
    fit = runner.invoke(app, ["segments", "-w", path], env={"COLUMNS": "200"})
    assert fit.exit_code == 0, fit.output
    assert "kmeans, k=" in fit.output and "stability ARI" in fit.output
    assert "chosen" in fit.output and "primary" in fit.output
    assert "every person the profiles describe" in fit.output  # no purchases: everyone
    explain = runner.invoke(app, ["segments", "explain", "1", "-w", path], env={"COLUMNS": "200"})
    assert explain.exit_code == 0, explain.output
    assert "Segment 1 of run seg-" in explain.output and "Cohen's d" in explain.output
    missing = runner.invoke(app, ["segments", "explain", "99", "-w", path])
    assert missing.exit_code != 0 and "no segment 99" in missing.output
