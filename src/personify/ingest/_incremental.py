"""Quarantine upkeep for partial reads (database sources read by ``updated_at``).

A full read lets the loader forget every quarantined row that is no longer in
the source. A partial read sees only the changed rows, so it may forget only
the quarantined versions of the records it read again in another version, and
those of records deleted in the source (found from every row's key columns).
"""

from __future__ import annotations

from personify.engine import DuckDBEngine
from personify.ingest._readers import quote_ident, quote_literal


def drop_superseded_quarantine(
    engine: DuckDBEngine, name: str, staged_table: str, key_fields: list[str], checked: str
) -> None:
    """Forget quarantined rows of ``name`` whose record id (``key_fields``) was read again
    in another version (``checked`` holds the hashes of the rows read: a row read again
    unchanged, within the lookback, stays in quarantine)."""
    engine.sql(
        f"""DELETE FROM quarantine q WHERE q.source = {quote_literal(name)}
        AND EXISTS (SELECT 1 FROM {staged_table} s WHERE {_same_record(key_fields)})
        AND NOT EXISTS (SELECT 1 FROM {checked} c WHERE c._row_hash = q.row_hash)"""
    )


def drop_deleted_quarantine(
    engine: DuckDBEngine, name: str, keys_table: str, key_fields: list[str]
) -> None:
    """Forget quarantined rows of ``name`` whose record id is no longer in the source
    (``keys_table``: every row's ``key_fields``, as read now)."""
    engine.sql(
        f"""DELETE FROM quarantine q WHERE q.source = {quote_literal(name)}
        AND NOT EXISTS (SELECT 1 FROM {keys_table} s WHERE {_same_record(key_fields)})"""
    )


def _same_record(key_fields: list[str]) -> str:
    """Quarantine row ``q`` (the row as read, in JSON) has the key fields of row ``s``."""
    return " AND ".join(
        f"json_extract_string(q.record, {quote_literal(_json_key(f))}) "
        f"IS NOT DISTINCT FROM CAST(s.{quote_ident(f)} AS VARCHAR)"
        for f in key_fields
    )


def _json_key(field: str) -> str:
    # One top-level key (a column name may hold a dot), unlike json_path's dotted paths.
    return '$."' + field.replace('"', '\\"') + '"'
