"""Docs are checked by tests: every source kind, column, command and config key is in them."""

import re
from pathlib import Path

from personify.cli import app
from personify.config import Config
from personify.ingest.kinds import KINDS

DOCS = Path(__file__).parent.parent / "docs"
README = Path(__file__).parent.parent / "README.md"


def test_every_source_kind_and_column_is_in_docs_sources() -> None:
    text = (DOCS / "sources.md").read_text()
    for kind in KINDS.values():
        section = text.split(f"## `{kind.name}`", 1)
        assert len(section) == 2, f"kind {kind.name} is not documented"
        body = section[1].split("\n## ", 1)[0]
        for column, spec in kind.columns.items():
            assert re.search(rf"\| `{column}` \| {spec.type} \|", body), (kind.name, column)


def test_every_cli_command_is_in_the_readme() -> None:
    text = README.read_text()
    for command in app.registered_commands:
        name = command.name or command.callback.__name__.replace("_", "-")
        assert f"`personify {name}" in text, f"command {name} is not in README.md"


def test_every_config_section_is_in_the_template() -> None:
    template = (Path(__file__).parent.parent / "src/personify/templates/personify.yaml").read_text()
    for field in Config.model_fields:
        assert re.search(rf"^{field}:", template, re.M), field
    for section in ("identity", "segments", "personas", "profiles"):
        for key in type(getattr(Config(), section)).model_fields:
            assert re.search(rf"^  {key}:", template, re.M), f"{section}.{key}"


def test_every_catalogue_attribute_is_in_docs_profiles() -> None:
    from personify.profiles.features import FEATURES

    text = (DOCS / "profiles.md").read_text()
    for feature in FEATURES:
        assert f"| `{feature.name}` |" in text, feature.name
    for key in ("clv_horizon_days", "discount_rate", "purchase_model", "lapsed_days", "churn"):
        assert key in text, key
