"""Check a mapping against the actual files before loading anything.

Each source is staged and checked exactly as a load would, inside a
transaction that is rolled back: what a load would reject is found and counted
per column, with a sample of the bad values, and nothing in the workspace
changes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from personify.errors import PersonifyError
from personify.ingest._columns import register_checks
from personify.ingest._readers import Staged, quote_literal
from personify.ingest.expressions import register_functions
from personify.ingest.kinds import PERSONAL_COLUMNS, effective_columns

if TYPE_CHECKING:
    from personify.ingest.loader import _SourceLoader
    from personify.workspace import Workspace

SAMPLE_VALUES = 3


@dataclass
class ColumnIssue:
    column: str
    bad_rows: int
    examples: list[str]  # reasons, personal values masked as in quarantine


@dataclass
class SourceCheck:
    source: str
    rows: int = 0
    bad_rows: int = 0
    unreadable_lines: int = 0
    error: str | None = None  # the load would fail as a whole (missing file, column...)
    columns: list[ColumnIssue] = field(default_factory=list)
    unused_fields: list[str] = field(default_factory=list)  # file columns no mapping uses

    @property
    def ok(self) -> bool:
        return self.error is None and self.bad_rows == 0 and self.unreadable_lines == 0


class _Rollback(Exception):
    pass


def check_sources(workspace: Workspace, names: list[str] | None = None) -> list[SourceCheck]:
    """What loading each source would do, without loading anything."""
    from personify.ingest.loader import _SourceLoader  # the loader's own staging and checks

    names = names or list(workspace.config.sources)
    engine = workspace.ingest_engine
    register_checks(engine)
    register_functions(engine)  # name parts of expr: columns
    results = []
    for name in names:
        result = SourceCheck(name)
        results.append(result)
        try:
            paths = workspace.ingest.source_paths(name)
        except PersonifyError as exc:
            result.error = str(exc)
            continue
        try:
            with engine.transaction():
                now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
                loader = _SourceLoader(workspace, name, paths, "check", now)
                staged = loader._stage()
                checked = f"_checked_{name}"
                loader._check(staged, into=checked, temp=True)
                _summarise(workspace, result, staged, checked, loader)
                raise _Rollback
        except _Rollback:
            pass
        except PersonifyError as exc:
            result.error = str(exc)
    return results


def _summarise(
    workspace: Workspace, result: SourceCheck, staged: Staged, checked: str, loader: _SourceLoader
) -> None:
    engine = workspace.ingest_engine
    result.rows = engine.count(checked)
    result.bad_rows = int(engine.scalar(f"SELECT count(*) FROM {checked} WHERE _problems <> ''"))
    result.unreadable_lines = engine.count(staged.rejects) if staged.rejects else 0
    per_column = engine.sql(
        f"""SELECT col, count(*) FROM (
              SELECT unnest(string_split(_failing, ',')) AS col FROM {checked}
              WHERE _failing <> '') GROUP BY col ORDER BY count(*) DESC, col"""
    ).fetchall()
    for col, n in per_column:
        reasons = [
            r[0]
            for r in engine.sql(
                f"""SELECT DISTINCT reason FROM (
                      SELECT unnest(string_split(_problems, '; ')) AS reason FROM {checked}
                      WHERE list_contains(string_split(_failing, ','), ?))
                    WHERE starts_with(reason, {quote_literal(col + ":")})
                    ORDER BY reason LIMIT {SAMPLE_VALUES}""",
                [col],
            ).fetchall()
        ]
        if col in PERSONAL_COLUMNS:
            reasons = [r for r in reasons if "got '" not in r]
        result.columns.append(ColumnIssue(col, int(n), reasons))
    columns, _ = effective_columns(loader.spec)
    used = {c.source or n for n, c in columns.items()}
    for c in columns.values():
        if c.expr:
            from personify.ingest.expressions import referenced_columns

            used.update(referenced_columns(c.expr))
    result.unused_fields = [f for f in staged.fields if f not in used]
