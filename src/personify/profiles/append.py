"""Third-party data appended to profiles: a reference source the user supplies (area
demographics by postcode, firmographics by e-mail domain) joined on the golden record.

Keys and person values are compared normalised: postcodes in upper case without spaces
or hyphens, cities trimmed in lower case, e-mail domains (the part after '@') in lower
case. ``match: prefix`` takes the longest key that starts the person's value (a postcode
district 'SW1A' for 'SW1A 1AA'), one equi-join per key length so the engine can hash it.
A key listed twice is one row: numeric values averaged, others the smallest, and a
warning. Each value lands in ``ref_<name>``; the catalogue marks it appended, with its
provenance, so a card never shows it as something the customer said.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from personify.ingest._readers import quote_ident

if TYPE_CHECKING:
    from personify.engine._base import Engine
    from personify.profiles.features import AppendedAttribute, Catalogue

log = logging.getLogger(__name__)


def _normalised(on: str, value: str) -> str:
    if on == "postcode":
        return f"upper(replace(replace(trim({value}), ' ', ''), '-', ''))"
    if on == "city":
        return f"lower(trim({value}))"
    return f"lower(trim({value}))"  # an e-mail domain


def _person_value(on: str) -> str:
    if on == "email_domain":
        return (
            "CASE WHEN instr(g.email, '@') > 0 "
            "THEN lower(trim(substr(g.email, instr(g.email, '@') + 1))) END"
        )
    return _normalised(on, f"g.{on}")


def _aggregate(attr: AppendedAttribute) -> str:
    column = quote_ident(attr.name)
    if attr.role == "numeric":
        return f"avg(CAST({column} AS DOUBLE)) AS {quote_ident(attr.column)}"
    if attr.role == "boolean":
        return f"bool_or({column}) AS {quote_ident(attr.column)}"
    return f"min(CAST({column} AS VARCHAR)) AS {quote_ident(attr.column)}"


def append_queries(engine: Engine, catalogue: Catalogue, loaded: set[str]) -> dict[str, str]:
    """Source -> query of ``person_id`` and its ``ref_`` columns, for each loaded reference."""
    by_source: dict[str, list[AppendedAttribute]] = {}
    for attr in catalogue.appended.values():
        if attr.role != "text":
            by_source.setdefault(attr.source, []).append(attr)
    out: dict[str, str] = {}
    for source, attrs in by_source.items():
        if source not in loaded:
            continue
        on, match = attrs[0].on, attrs[0].match
        key = _normalised(on, "CAST(key AS VARCHAR)")
        values = ", ".join(_aggregate(a) for a in attrs)
        reference = f"""SELECT {key} AS ref_key, {values} FROM raw_{source}
            WHERE key IS NOT NULL GROUP BY {key}"""
        repeated = engine.scalar(
            f"SELECT count(*) FROM (SELECT {key} AS k FROM raw_{source} WHERE key IS NOT NULL "
            f"GROUP BY {key} HAVING count(*) > 1) d"
        )
        if repeated:
            log.warning(
                "reference source '%s': %d key(s) listed more than once; their values are "
                "combined (numbers averaged)",
                source,
                repeated,
            )
        persons = f"SELECT person_id, {_person_value(on)} AS v FROM golden_record g"
        columns = ", ".join(f"r.{quote_ident(a.column)}" for a in attrs)
        if match == "exact":
            joined = f"""SELECT p.person_id, {columns} FROM ({persons}) p
                JOIN ({reference}) r ON r.ref_key = p.v"""
        else:
            lengths = [
                int(row[0])
                for row in engine.sql(
                    f"SELECT DISTINCT length({key}) FROM raw_{source} "
                    f"WHERE key IS NOT NULL AND length({key}) > 0"
                ).fetchall()
            ]
            if not lengths:
                continue
            parts = " UNION ALL ".join(
                f"""SELECT p.person_id, {n} AS matched, {columns} FROM ({persons}) p
                JOIN ({reference}) r ON r.ref_key = substr(p.v, 1, {n})
                WHERE length(r.ref_key) = {n}"""
                for n in sorted(lengths)
            )
            plain = ", ".join(quote_ident(a.column) for a in attrs)
            joined = f"""SELECT person_id, {plain} FROM (
                SELECT m.*, row_number() OVER (
                    PARTITION BY person_id ORDER BY matched DESC) AS k
                FROM ({parts}) m) best WHERE k = 1"""
        out[source] = joined
    return out
