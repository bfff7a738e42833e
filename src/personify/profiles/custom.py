"""Declared attributes and survey scales as profile columns.

Each attribute (or scale) is read from every loaded source that declares it,
joined to persons through ``identity_links``, and reduced to one value per
person by its role: numeric -> mean, boolean -> any true, categorical -> the
most frequent value (ties: the latest, then the smallest), date -> the latest.
Text attributes stay out of profiles (they are free text, not a trait).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from personify.ingest._readers import quote_ident, quote_literal
from personify.ingest.kinds import KINDS
from personify.profiles.features import Catalogue, CustomAttribute, SurveyScale

if TYPE_CHECKING:
    from personify.workspace import Workspace

log = logging.getLogger(__name__)

# The column that dates a record of each kind: "latest" for categorical attributes,
# the date of a quote. Kinds without one (customer_attributes) date nothing.
TIME_COLUMNS = {
    "customers": "signup_date",
    "loyalty_members": "joined_date",
    "orders": "order_ts",
    "pos_receipts": "receipt_ts",
    "events": "timestamp",
    "email_events": "event_ts",
    "first_touch": "touch_ts",
    "support_tickets": "created_ts",
    "reviews": "created_ts",
    "survey_responses": "submitted_ts",
}


def linked_rows(workspace: Workspace, source: str, value: str) -> str | None:
    """``person_id, v, ts`` of one source's rows with a value; None if it cannot be linked."""
    kind = workspace.config.sources[source].kind
    rid = KINDS[kind].record_id
    if rid is None or not KINDS[kind].identifiers:
        return None
    time = TIME_COLUMNS.get(kind)
    ts = f"CAST(r.{time} AS TIMESTAMP)" if time else "NULL::TIMESTAMP"
    return (
        f"SELECT l.person_id, {value} AS v, {ts} AS ts "
        f"FROM raw_{source} r JOIN identity_links l "
        f"ON l.source = {quote_literal(source)} AND l.record_id = CAST(r.{rid} AS VARCHAR)"
    )


def _union(workspace: Workspace, sources: tuple[str, ...], name: str, cast: str) -> str | None:
    loaded = set(workspace.loaded_sources())
    parts = []
    for source in sources:
        if source not in loaded:
            continue
        rows = linked_rows(workspace, source, f"CAST(r.{quote_ident(name)} AS {cast})")
        if rows is None:
            kind = workspace.config.sources[source].kind
            log.warning(
                "source '%s': a %s source does not identify persons; its attribute '%s' "
                "is left out of profiles",
                source,
                kind,
                name,
            )
            continue
        parts.append(rows)
    if not parts:
        return None
    return f"SELECT * FROM ({' UNION ALL '.join(parts)}) WHERE v IS NOT NULL"


def attribute_query(workspace: Workspace, attr: CustomAttribute) -> str | None:
    """``person_id, <attr.column>``: one value per person; None for text or nothing loaded."""
    col = quote_ident(attr.column)
    cast = {"numeric": "DOUBLE", "boolean": "BOOLEAN", "date": "DATE"}.get(attr.role, "VARCHAR")
    if attr.role == "text":
        return None
    rows = _union(workspace, attr.sources, attr.name, cast)
    if rows is None:
        return None
    if attr.role == "numeric":
        return f"SELECT person_id, avg(v) AS {col} FROM ({rows}) GROUP BY person_id"
    if attr.role == "boolean":
        return f"SELECT person_id, bool_or(v) AS {col} FROM ({rows}) GROUP BY person_id"
    if attr.role == "date":
        return f"SELECT person_id, max(v) AS {col} FROM ({rows}) GROUP BY person_id"
    return f"""SELECT person_id, v AS {col} FROM (
            SELECT person_id, v, count(*) AS n, max(ts) AS last_ts FROM ({rows})
            GROUP BY person_id, v)
        QUALIFY row_number() OVER (
            PARTITION BY person_id ORDER BY n DESC, last_ts DESC NULLS LAST, v) = 1"""


def scale_query(workspace: Workspace, scale: SurveyScale) -> str | None:
    """``person_id, <scale.column>``: the mean answer per person."""
    rows = _union(workspace, scale.sources, scale.name, "DOUBLE")
    if rows is None:
        return None
    return (
        f"SELECT person_id, avg(v) AS {quote_ident(scale.column)} FROM ({rows}) GROUP BY person_id"
    )


def custom_queries(workspace: Workspace, catalogue: Catalogue) -> dict[str, str]:
    """Profile column -> query of ``person_id`` and that column, for what is loaded."""
    out: dict[str, str] = {}
    for column, attr in catalogue.attributes.items():
        query = attribute_query(workspace, attr)
        if query:
            out[column] = query
    for column, scale in catalogue.scales.items():
        query = scale_query(workspace, scale)
        if query:
            out[column] = query
    return out
