"""Quarantine upkeep for partial reads (database sources read by ``updated_at``).

A full read lets the loader forget every quarantined row that is no longer in
the source. A partial read sees only the changed rows, so it may forget only
the quarantined versions of the records it read again: they have a newer one.
"""

from __future__ import annotations

from personify.engine import DuckDBEngine
from personify.ingest._readers import quote_ident, quote_literal


def drop_superseded_quarantine(
    engine: DuckDBEngine, name: str, staged_table: str, key_fields: list[str]
) -> None:
    """Forget quarantined rows of ``name`` whose record id (``key_fields``) was read again."""
    same = " AND ".join(
        f"json_extract_string(q.record, {quote_literal(_json_key(f))}) "
        f"IS NOT DISTINCT FROM CAST(s.{quote_ident(f)} AS VARCHAR)"
        for f in key_fields
    )
    engine.sql(
        f"""DELETE FROM quarantine q WHERE q.source = {quote_literal(name)}
        AND EXISTS (SELECT 1 FROM {staged_table} s WHERE {same})"""
    )


def _json_key(field: str) -> str:
    # One top-level key (a column name may hold a dot), unlike json_path's dotted paths.
    return '$."' + field.replace('"', '\\"') + '"'
