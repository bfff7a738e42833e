"""Audiences: persons chosen by a rule over their profile, counted, saved and exported.

``ws.audiences.count('clv > 500 and preferred_channel == "app"')`` compiles the rule
(segments/_rules.py: parsed, typed against the profile table's real columns, values bound)
and counts it in one pass of the engine over ``profiles``; nothing per person comes back.
Saved audiences live in the workspace table ``audiences`` (name, rule, created and updated
at, the last count and when it was made). ``members`` and ``export`` are the only calls
that return persons: their ids and the attributes asked for, never the golden record's
names or contact details (the profile table holds none).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from personify.errors import PersonifyError
from personify.ingest._csv import quote_ident
from personify.ingest.expressions import _suggest
from personify.segments._rules import (
    Attribute,
    CompiledRule,
    RuleError,
    attributes_from_types,
    compile_rule,
)

if TYPE_CHECKING:
    from personify.workspace import Workspace

TABLE = "audiences"
PROFILES = "profiles"
SEGMENT = "segment"  # the attribute for a person's segment in the latest run
ARRIVALS = "segment_arrivals"  # later arrivals' segments (segments/arrivals.py)
MIN_GROUP = 10  # aggregates of fewer persons than this are not shown: they would be theirs
# Figures a summary gives when the profile table has them, beside the rule's own attributes.
SUMMARY_NUMBERS = ("monetary", "clv", "churn_risk", "frequency", "recency_days", "p_alive")
SUMMARY_CATEGORIES = ("lifecycle_stage", "engagement_level")
_NAME = re.compile(r"\w[\w.-]*(?: [\w.-]+)*")
MAX_NAME = 64
_DDL = f"""CREATE TABLE IF NOT EXISTS {TABLE} (name VARCHAR, rule VARCHAR,
    created_at TIMESTAMP, updated_at TIMESTAMP, persons BIGINT, total BIGINT,
    counted_at TIMESTAMP)"""


class AudienceError(PersonifyError, KeyError):
    """An audience name that is taken, unknown or malformed; an export that cannot be made."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class AudienceCount:
    rule: str
    persons: int
    total: int  # persons in the profile table

    @property
    def share(self) -> float | None:
        return self.persons / self.total if self.total else None


@dataclass(frozen=True)
class Audience:
    name: str
    rule: str
    created_at: dt.datetime
    updated_at: dt.datetime
    persons: int | None  # at the last count
    total: int | None
    counted_at: dt.datetime | None

    @property
    def share(self) -> float | None:
        return self.persons / self.total if self.persons is not None and self.total else None


@dataclass(frozen=True)
class Figure:
    """One attribute's figure for the audience beside everyone's: a mean, or a value's share."""

    attribute: str
    label: str
    audience: float | None
    everyone: float | None
    value: str | None = None  # for a category: the value whose share this is


@dataclass(frozen=True)
class AudienceSummary:
    count: AudienceCount
    figures: list[Figure]
    suppressed: bool  # fewer than MIN_GROUP persons: no figures, they would describe persons


@dataclass(frozen=True)
class ExportResult:
    path: Path
    rows: int
    columns: list[str]


class Audiences:
    """``ws.audiences``: rules over profiles counted in the engine, saved audiences."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    @property
    def engine(self) -> Any:
        return self.workspace.engine

    # -- the rule language --------------------------------------------------------------------
    def attributes(self) -> dict[str, Attribute]:
        """What rules may read: every profile column with its type and label, and each
        declared attribute (``attr_<name>``) and survey scale also by its declared name."""
        from personify.profiles.features import Catalogue

        self.engine.require(PROFILES)
        catalogue = Catalogue(self.workspace.config)
        types = self.engine.column_types(PROFILES)
        labels = {c: catalogue.describe(c).label for c, _ in types}
        out = attributes_from_types(types, labels)
        declared = [(a.name, a.column) for a in catalogue.attributes.values()]
        declared += [(s.name, s.column) for s in catalogue.scales.values()]
        for name, column in declared:
            if column in out and name not in out:
                out[name] = out[column]
        if SEGMENT not in out and self._latest_run() is not None:
            out[SEGMENT] = Attribute(SEGMENT, "number", "INTEGER", "Segment (latest run)")
        return out

    def _latest_run(self) -> str | None:
        if not self.engine.has_table("segment_runs"):
            return None
        run = self.engine.scalar(
            "SELECT run_id FROM segment_runs ORDER BY created_at DESC, run_id LIMIT 1"
        )
        return None if run is None else str(run)

    def _source(self, columns: Sequence[str]) -> tuple[str, list[Any]]:
        """What a query reads: ``profiles``, or, when it reads ``segment`` (and the profile
        table has no column of that name), profiles with each person's segment in the
        latest run (its membership, or for a later arrival its assigned segment)."""
        if SEGMENT not in columns or SEGMENT in self.engine.columns(PROFILES):
            return PROFILES, []
        run = self._latest_run()
        parts = ["SELECT person_id, segment_id FROM segment_membership WHERE run_id = ?"]
        if self.engine.has_table(ARRIVALS):
            parts.append(f"SELECT person_id, segment_id FROM {ARRIVALS} WHERE run_id = ?")
        source = (
            f"(SELECT p.*, s.segment_id AS {SEGMENT} FROM {PROFILES} p LEFT JOIN "
            f"({' UNION ALL '.join(parts)}) s ON s.person_id = p.person_id) {PROFILES}"
        )
        return source, [run] * len(parts)

    def compile(self, rule: str) -> CompiledRule:
        """The rule as SQL over ``profiles`` (raises :class:`RuleError` with the position)."""
        return compile_rule(rule, self.attributes())

    def validate(self, rule: str) -> dict[str, Any] | None:
        """None when the rule compiles, else its error as ``{rule, position, reason}`` (for
        a form that checks as the user types)."""
        try:
            self.compile(rule)
        except RuleError as exc:
            return exc.as_dict()
        return None

    def count(self, rule: str) -> AudienceCount:
        """How many persons the rule takes, of how many: one pass of the engine."""
        c = self.compile(rule)
        source, params = self._source(c.attributes)
        row = self.engine.sql(
            f"""SELECT count(*), coalesce(sum(CASE WHEN {c.sql} THEN 1 ELSE 0 END), 0)
            FROM {source}""",
            [*c.params, *params],
        ).fetchone()
        return AudienceCount(rule, int(row[1]), int(row[0]))

    def members(
        self, rule: str, *, limit: int | None = 100, attributes: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """The persons a rule takes, by person id: ``person_id`` and ``attributes`` (default:
        those the rule reads). Personal data only as far as the attributes asked for go."""
        c = self.compile(rule)
        columns = self._columns(c, attributes)
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise ValueError(f"limit must be a whole number >= 0 or None, got {limit!r}")
        select = ", ".join(quote_ident(x) for x in ["person_id", *columns])
        cap = f" LIMIT {int(limit)}" if limit is not None else ""
        source, params = self._source([*c.attributes, *columns])
        return self.engine.fetch_df(
            f"SELECT {select} FROM {source} WHERE {c.sql} ORDER BY person_id{cap}",
            [*params, *c.params],
        )

    def summary(self, rule: str) -> AudienceSummary:
        """Count and share, and aggregate figures beside everyone's (means of value
        attributes and of the rule's numbers, shares of the most common values of its
        categories); none for fewer than ``MIN_GROUP`` persons."""
        c = self.compile(rule)
        attrs = self.attributes()
        numbers = [a for a in (*c.attributes, *SUMMARY_NUMBERS) if _is(attrs, a, "number")]
        numbers = [a for a in dict.fromkeys(numbers) if a != SEGMENT]  # an id, not a figure
        categories = [a for a in (*c.attributes, *SUMMARY_CATEGORIES) if _is(attrs, a, "text")]
        categories = [a for a in dict.fromkeys(categories) if a != "person_id"]
        booleans = list(dict.fromkeys(a for a in c.attributes if _is(attrs, a, "boolean")))
        # The rule once, as a flag: its values are bound once, in order.
        source, params = self._source(c.attributes)
        flagged = f"SELECT *, CASE WHEN {c.sql} THEN 1 ELSE 0 END AS _personify_in FROM {source}"
        parts = ["count(*)", "sum(_personify_in)"]
        for a in numbers:
            q = quote_ident(a)
            parts += [f"avg(CASE WHEN _personify_in = 1 THEN {q} END)", f"avg({q})"]
        for a in booleans:
            q = f"CASE WHEN {quote_ident(a)} THEN 1 ELSE 0 END"
            parts += [f"avg(CASE WHEN _personify_in = 1 THEN {q} END)", f"avg({q})"]
        row = self.engine.sql(
            f"WITH t AS ({flagged}) SELECT {', '.join(parts)} FROM t", [*c.params, *params]
        ).fetchone()
        count = AudienceCount(rule, int(row[1] or 0), int(row[0]))
        if count.persons < MIN_GROUP:
            return AudienceSummary(count, [], suppressed=True)
        figures = [
            Figure(a, attrs[a].label or a, _float(row[2 + 2 * i]), _float(row[3 + 2 * i]))
            for i, a in enumerate([*numbers, *booleans])
        ]
        for a in categories:
            figures += self._category_figures(c, a, attrs[a].label or a, count)
        return AudienceSummary(count, figures, suppressed=False)

    def _category_figures(
        self, c: CompiledRule, column: str, label: str, count: AudienceCount, top: int = 3
    ) -> list[Figure]:
        q = quote_ident(column)
        source, params = self._source(c.attributes)
        df = self.engine.fetch_df(
            f"""WITH t AS (SELECT {q} AS v, CASE WHEN {c.sql} THEN 1 ELSE 0 END AS _personify_in
                FROM {source})
            SELECT v, sum(_personify_in) AS n, count(*) AS everyone FROM t WHERE v IS NOT NULL
            GROUP BY v ORDER BY n DESC, everyone DESC, v LIMIT {top}""",
            [*c.params, *params],
        )
        return [
            Figure(
                column,
                label,
                int(r.n) / count.persons,
                int(r.everyone) / count.total,
                value=str(r.v),
            )
            for r in df.itertuples()
            # A value held by fewer than MIN_GROUP members would point at them.
            if int(r.n) >= MIN_GROUP
        ]

    # -- saved audiences -----------------------------------------------------------------------
    def add(self, name: str, rule: str, *, replace: bool = False) -> Audience:
        """Save ``rule`` as ``name`` (checked and counted first)."""
        _check_name(name)
        existing = self._find(name)
        if existing is not None and not replace:
            raise AudienceError(f"an audience named {name!r} exists (replace it with --replace)")
        counted = self.count(rule)  # a rule that does not compile is never saved
        now = _now()
        created = existing.created_at if existing is not None else now
        audience = Audience(name, rule, created, now, counted.persons, counted.total, now)
        with self.engine.transaction():
            self._store(audience, replace=existing is not None)
        return audience

    def saved(self) -> list[Audience]:
        """Every saved audience, by name, with its last count."""
        if not self.engine.has_table(TABLE):
            return []
        df = self.engine.fetch_df(f"SELECT * FROM {TABLE} ORDER BY name")
        return [_audience(r) for r in df.to_dict("records")]

    def get(self, name: str) -> Audience:
        found = self._find(name)
        if found is None:
            names = [a.name for a in self.saved()]
            hint = _suggest(name, names) if names else " (no audience is saved yet)"
            raise AudienceError(f"no audience named {name!r}{hint}")
        return found

    def refresh(self, name: str) -> Audience:
        """Count a saved audience again and store the count."""
        audience = self.get(name)
        counted = self.count(audience.rule)
        now = _now()
        fresh = Audience(
            name,
            audience.rule,
            audience.created_at,
            audience.updated_at,
            counted.persons,
            counted.total,
            now,
        )
        with self.engine.transaction():
            self._store(fresh, replace=True)
        return fresh

    def remove(self, name: str) -> None:
        self.get(name)
        with self.engine.transaction():
            self.engine.delete_rows(TABLE, "name = ?", [name])

    def export(
        self,
        name: str,
        path: str | Path,
        *,
        attributes: Sequence[str] | None = None,
        file_format: str | None = None,
    ) -> ExportResult:
        """Write a saved audience's persons (``person_id`` and ``attributes``, default: the
        rule's) to a CSV or Parquet file (by ``file_format`` or the file's suffix).

        In CSV, text that a spreadsheet would run as a formula (starting with = + - @, a
        tab or a carriage return) is written with a leading apostrophe."""
        audience = self.get(name)
        target = Path(path)
        kind = (file_format or target.suffix.lstrip(".")).lower()
        if kind not in ("csv", "parquet"):
            raise AudienceError(
                f"cannot tell the format of {str(target)!r}: name it .csv or .parquet "
                "(or give --format csv|parquet)"
            )
        c = self.compile(audience.rule)
        columns = self._columns(c, attributes)
        df = self.members(audience.rule, limit=None, attributes=columns)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written beside the target, then renamed: a failed export leaves no half a file.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".export-", suffix=f".{kind}")
        os.close(fd)
        try:
            if kind == "csv":
                _csv_safe(df).to_csv(tmp, index=False)
            else:
                df.to_parquet(tmp, index=False)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return ExportResult(target, len(df), list(df.columns))

    # -- internals ----------------------------------------------------------------------------
    def _columns(self, c: CompiledRule, attributes: Sequence[str] | None) -> list[str]:
        if attributes is None:
            return [a for a in c.attributes if a != "person_id"]
        known = self.attributes()
        out: list[str] = []
        for a in attributes:
            if a not in known:
                raise AudienceError(f"unknown attribute {a!r}{_suggest(a, known)}")
            column = known[a].name
            if column != "person_id" and column not in out:
                out.append(column)
        return out

    def _find(self, name: str) -> Audience | None:
        if not self.engine.has_table(TABLE):
            return None
        df = self.engine.fetch_df(f"SELECT * FROM {TABLE} WHERE name = ?", [name])
        return _audience(df.iloc[0].to_dict()) if len(df) else None

    def _store(self, a: Audience, *, replace: bool) -> None:
        self.engine.sql(_DDL)
        if replace:
            self.engine.delete_rows(TABLE, "name = ?", [a.name])
        self.engine.sql(
            f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)",
            [a.name, a.rule, a.created_at, a.updated_at, a.persons, a.total, a.counted_at],
        )


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name) or len(name) > MAX_NAME:
        raise AudienceError(
            f"an audience name is 1 to {MAX_NAME} letters, digits, spaces, '_', '-' or '.' "
            f"(starting with a letter or digit), got {name!r}"
        )


def _is(attrs: dict[str, Attribute], name: str, kind: str) -> bool:
    return name in attrs and attrs[name].type == kind


def _float(x: Any) -> float | None:
    if x is None:
        return None
    v = float(x)
    return None if math.isnan(v) else v


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _audience(r: dict[str, Any]) -> Audience:
    def when(x: Any) -> dt.datetime | None:
        return None if x is None or pd.isna(x) else pd.Timestamp(x).to_pydatetime()

    def whole(x: Any) -> int | None:
        return None if x is None or pd.isna(x) else int(x)

    created, updated = when(r["created_at"]), when(r["updated_at"])
    assert created is not None and updated is not None
    return Audience(
        str(r["name"]),
        str(r["rule"]),
        created,
        updated,
        whole(r["persons"]),
        whole(r["total"]),
        when(r["counted_at"]),
    )


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells that spreadsheets would run as formulas get a leading apostrophe (the
    OWASP advice for CSV injection); numbers stay numbers."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v
            )
    return out


__all__ = [
    "Audience",
    "AudienceCount",
    "AudienceError",
    "AudienceSummary",
    "Audiences",
    "ExportResult",
    "Figure",
    "RuleError",
]
