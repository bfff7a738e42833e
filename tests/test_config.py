import datetime as dt
from pathlib import Path

import pytest

from personify import ConfigError, Workspace
from personify.config import load_config, parse_config


def test_template_written_by_init_is_valid(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "w")
    config = load_config(tmp_path / "w" / "personify.yaml")
    assert config.sources == {}
    assert config.segments.k == "auto"
    assert (tmp_path / "w" / "personify.duckdb").is_file()
    ws.close()


def test_every_problem_is_reported_at_once_with_its_key_path() -> None:
    bad = {
        "sources": {
            "orders": {
                "kind": "orders",
                "path": "o.csv",
                "columns": {"amount": {"type": "money"}},
            },
            "crm": {"kind": "crm_stuff", "path": "c.csv"},
            "tickets": {"kind": "support_tickets"},
        },
        "segments": {"k": 40, "colour": "blue"},
    }
    with pytest.raises(ConfigError) as info:
        parse_config(bad, path="personify.yaml")
    problems = info.value.problems
    text = "\n".join(problems)
    assert "sources.orders.columns.amount.type: expected a column type" in text
    assert "got 'money'" in text
    assert "sources.crm.kind: expected a source kind" in text
    assert "sources.tickets: give exactly one of 'path' (files) or 'database'" in text
    assert "segments.colour: unknown key" in text
    assert any(p.startswith("segments.k") for p in problems)
    assert len(problems) >= 5
    assert "personify.yaml has" in str(info.value)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "personify.yaml"
    path.write_text("sources:\n  a: [unclosed\nidentity: {}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "line" in str(info.value)
    assert str(path) in str(info.value)


def test_missing_config_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="personify init"):
        Workspace(tmp_path)


def test_k_range_must_be_ordered() -> None:
    with pytest.raises(ConfigError, match="k_range"):
        parse_config({"segments": {"k_range": [6, 3]}})


def test_init_refuses_invalid_sources_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        Workspace.init(tmp_path / "w", sources={"x": {"kind": "nope", "path": "a.csv"}})
    assert not (tmp_path / "w").exists()


def test_engine_memory_limit_must_be_a_size() -> None:
    with pytest.raises(ConfigError, match=r"engine\.memory_limit: .*got 'lots'"):
        parse_config({"engine": {"memory_limit": "lots"}})
    assert parse_config({"engine": {"memory_limit": "512MB"}}).engine.memory_limit == "512MB"


def test_workspace_engine_applies_the_memory_limit(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "w")
    (tmp_path / "w" / "personify.yaml").write_text("engine: {memory_limit: 300MB}\n")
    ws.close()
    with Workspace(tmp_path / "w") as ws:
        limit = ws.engine.scalar("SELECT current_setting('memory_limit')")
    assert limit.replace(" ", "").startswith(("286.1MiB", "300.0MB", "286MiB"))


def test_an_attribute_declared_with_two_roles_names_both_sources() -> None:
    sources = {
        "crm": {
            "kind": "customers",
            "path": "crm.csv",
            "attributes": {"plan": {"role": "categorical"}, "tenure": {"role": "numeric"}},
        },
        "billing": {
            "kind": "customer_attributes",
            "path": "billing.csv",
            "attributes": {"plan": {"role": "numeric"}, "tenure": {"role": "numeric"}},
        },
        "survey": {
            "kind": "customer_attributes",
            "path": "survey.csv",
            "attributes": {"plan": {"role": "text"}},
        },
    }
    with pytest.raises(ConfigError) as caught:
        parse_config({"sources": sources})
    problems = caught.value.problems
    # Each later source is compared with the first that declared the name; 'tenure' agrees.
    assert problems == [
        "sources.billing.attributes.plan.role: 'numeric' but source 'crm' declares it "
        "'categorical' (one name is one profile column: give both the same role, or one of "
        "them another name)",
        "sources.survey.attributes.plan.role: 'text' but source 'crm' declares it "
        "'categorical' (one name is one profile column: give both the same role, or one of "
        "them another name)",
    ]
    sources["billing"]["attributes"]["plan"]["role"] = "categorical"
    sources["survey"]["attributes"]["plan"]["role"] = "categorical"
    assert parse_config({"sources": sources}).sources["billing"].attributes["plan"].role == (
        "categorical"
    )


def test_a_scale_declared_with_two_ranges_is_reported_with_both_sources() -> None:
    def survey(path: str, low: int, high: int) -> dict:
        scale = {"source": "Q1", "range": [low, high]}
        return {"kind": "customer_attributes", "path": path, "scales": {"trust": scale}}

    sources = {"spring": survey("s.csv", 1, 5), "autumn": survey("a.csv", 0, 10)}
    with pytest.raises(ConfigError) as caught:
        parse_config({"sources": sources})
    assert caught.value.problems == [
        "sources.autumn.scales.trust.range: [0, 10] but source 'spring' declares it "
        "[1, 5] (one name is one profile column: give both the same range, or one of them "
        "another name)"
    ]
    sources["autumn"] = survey("a.csv", 1, 5)
    assert parse_config({"sources": sources}).sources["autumn"].scales["trust"].range == (1, 5)


def test_a_database_lookback_is_a_duration() -> None:
    def lookback(value: object) -> object:
        source = {"kind": "customers", "database": {"url": "postgresql://h/db", "table": "t"}}
        if value is not None:
            source["database"]["lookback"] = value  # type: ignore[index]
        return parse_config({"sources": {"crm": source}}).sources["crm"].database.lookback

    assert lookback(None) == dt.timedelta(minutes=15)  # the default
    assert lookback("5 minutes") == dt.timedelta(seconds=300)
    assert lookback("1h30m") == dt.timedelta(seconds=5400)
    assert lookback(90) == lookback("90") == dt.timedelta(seconds=90)
    assert lookback(0) == dt.timedelta(0)
    problems = {
        "soon": "expected a duration",
        "-5 minutes": "lookback must not be negative",
        True: "expected a duration",
    }
    for bad, why in problems.items():
        with pytest.raises(ConfigError, match=f"sources.crm.database.lookback: {why}"):
            lookback(bad)
