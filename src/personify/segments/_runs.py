"""What assigning later arrivals and comparing runs share: the runs stored by the
segmentation stage, and profile attributes as numeric inputs.

Both read only ``segment_runs`` (which runs exist, when), ``segment_membership`` (who is in
which segment), ``segments`` (the run's own figures) and ``profiles``: not the model a run
was fitted with, which belongs to the segmentation stage and may change form. The inputs
are the attributes a segmentation would use (the catalogue's model inputs and category
shares, declared attributes with ``segment: true``) plus the run's own features that are
profile columns, each described as data (column, how it is read) so that it can be stored
and turned into SQL again with its values bound.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from personify.errors import WorkspaceError
from personify.ingest._csv import quote_ident
from personify.segments._rules import attribute_type

if TYPE_CHECKING:
    from personify.workspace import Workspace

ONE_HOT_VALUES = 5


@dataclass(frozen=True)
class Input:
    """One numeric input read from a profile column."""

    name: str
    column: str
    kind: Literal["number", "log", "flag", "equals"]
    value: str | None = None  # for "equals": the category value that gives 1

    def sql(self, table: str = "p") -> tuple[str, list[Any]]:
        """SQL of the input over ``table`` (an alias; NULL when the column is missing) and
        its bound values."""
        q = f"{table}.{quote_ident(self.column)}"
        if self.kind == "number":
            return f"CAST({q} AS DOUBLE)", []
        if self.kind == "log":
            return f"ln(1 + greatest(CAST({q} AS DOUBLE), 0))", []
        if self.kind == "flag":
            return f"CAST(CAST({q} AS INTEGER) AS DOUBLE)", []
        return f"CAST(CAST({q} = CAST(? AS VARCHAR) AS INTEGER) AS DOUBLE)", [self.value]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def runs(workspace: Workspace) -> list[dict[str, Any]]:
    """Every stored run, newest first: run_id, created_at, k."""
    engine = workspace.engine
    if not engine.has_table("segment_runs"):
        return []
    df = engine.fetch_df(
        "SELECT run_id, created_at, k FROM segment_runs ORDER BY created_at DESC, run_id"
    )
    return [dict(r) for r in df.to_dict("records")]


def resolve_run(workspace: Workspace, run_id: str | None) -> str:
    """``run_id`` checked against the stored runs (a unique prefix will do); the latest
    run when None."""
    stored = runs(workspace)
    if not stored:
        raise WorkspaceError("the workspace has no segmentation run; run personify segments")
    if run_id is None:
        return str(stored[0]["run_id"])
    ids = [str(r["run_id"]) for r in stored]
    if run_id in ids:
        return run_id
    matches = [i for i in ids if i.startswith(run_id)]
    if len(matches) == 1:
        return matches[0]
    listing = ", ".join(ids[:10])
    raise WorkspaceError(
        f"no segmentation run {run_id!r}"
        + (" (more than one run starts so)" if matches else "")
        + f"; runs: {listing}"
    )


def run_features(workspace: Workspace, run_id: str) -> list[str]:
    row = workspace.engine.sql(
        "SELECT features FROM segment_runs WHERE run_id = ?", [run_id]
    ).fetchone()
    try:
        features = json.loads(row[0]) if row and row[0] else []
    except (TypeError, ValueError):
        return []
    return [str(f) for f in features] if isinstance(features, list) else []


def inputs(workspace: Workspace, run_id: str, *, categories: bool = True) -> list[Input]:
    """The numeric inputs describing the persons of ``run_id`` (see the module docstring)."""
    from personify.profiles.features import CATEGORY_PREFIX, Catalogue

    engine = workspace.engine
    catalogue = Catalogue(workspace.config)
    types = dict(engine.column_types("profiles"))
    out: dict[str, Input] = {}
    for column, sql_type in types.items():
        kind = attribute_type(sql_type)
        attr = catalogue.attributes.get(column)
        if attr is not None:
            if not attr.segment:
                continue
            if attr.role == "numeric" and kind == "number":
                out[column] = Input(column, column, "number")
            elif attr.role == "boolean" and kind == "boolean":
                out[column] = Input(column, column, "flag")
            elif attr.role == "categorical" and kind == "text" and categories:
                for value in _top_values(workspace, run_id, column):
                    name = f"{column}={value}"
                    out[name] = Input(name, column, "equals", value)
            continue
        feature = catalogue.describe(column)
        if kind == "number" and (feature.model or column.startswith(CATEGORY_PREFIX)):
            out[column] = Input(column, column, "log" if feature.log else "number")
    for f in run_features(workspace, run_id):
        if f not in out and attribute_type(types.get(f, "")) == "number":
            out[f] = Input(f, f, "number")
    return list(out.values())


def _top_values(workspace: Workspace, run_id: str, column: str) -> list[str]:
    q = quote_ident(column)
    rows = workspace.engine.sql(
        f"""SELECT p.{q} FROM profiles p JOIN segment_membership m USING (person_id)
        WHERE m.run_id = ? AND p.{q} IS NOT NULL
        GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT {ONE_HOT_VALUES + 1}""",
        [run_id],
    ).fetchall()
    values = [str(r[0]) for r in rows]
    # Two values: one input says it all (the other is its complement).
    return values[:1] if len(values) == 2 else values[:ONE_HOT_VALUES]


def select_inputs(items: list[Input], table: str = "p") -> tuple[str, list[Any]]:
    """``SELECT`` list items ``x0, x1, ...`` for the inputs over the profile table's alias
    ``table``, with their bound values."""
    parts: list[str] = []
    params: list[Any] = []
    for i, item in enumerate(items):
        sql, values = item.sql(table)
        parts.append(f"{sql} AS x{i}")
        params += values
    return ", ".join(parts), params


def double(x: float) -> str:
    """A float as a DOUBLE literal (a bare decimal is a DECIMAL on Spark)."""
    return f"CAST({float(x)!r} AS DOUBLE)"
