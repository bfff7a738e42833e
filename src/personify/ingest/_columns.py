"""One column's mapping compiled to SQL: its typed value and the check that rejects a row.

A raw value goes through the steps a user declares, in this order: trimmed
text, the value map (``values:``), the decimal separator, the date format or
plain cast, the time zone, the currency conversion; then the checks: required,
parses as its type, range (``min``/``max``, dates between 1900 and today by
default), enumeration (``allowed``), valid e-mail and phone syntax.

Each step is plain SQL over the row; only the e-mail and phone checks call
Python (email-validator and phonenumbers do what no SQL expression can) through
functions the engine registers once per connection.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import email_validator
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from personify.config import ColumnSpec, LocaleConfig
from personify.engine import Engine
from personify.ingest._readers import quote_literal

SQL_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}

# Dates outside these bounds are typos (a birth date of 0198, an order in 2099)
# unless the column declares its own min/max.
EARLIEST_DATE = dt.date(1900, 1, 1)

EMAIL_CHECK = "personify_email_problem"
PHONE_CHECK = "personify_phone_problem"

# Addresses of this plain shape are valid by email-validator's rules too: they need no
# Python call (99% of real addresses; the library judges the rest).
_PLAIN_EMAIL = (
    r"^(?i)[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)
# email-validator's special-use names, which no address may use.
_SPECIAL_USE = r"(?i)\.(arpa|invalid|local|localhost|onion|test)$"
# A domain label with '--' in its third and fourth places is reserved for Punycode.
_RESERVED_LABEL = r"[@.][a-z0-9-]{2}--"


def _plain_email(text: str) -> str:
    return (
        f"coalesce(regexp_matches({text}, {quote_literal(_PLAIN_EMAIL)}) "
        f"AND NOT regexp_matches({text}, {quote_literal(_SPECIAL_USE)}) "
        f"AND NOT regexp_matches(lower({text}), {quote_literal(_RESERVED_LABEL)}) "
        f"AND length({text}) <= 254, false)"
    )


# A text ending in a UTC offset or Z carries its own time zone.
_OFFSET = r"([+-][0-9]{2}(:?[0-9]{2})?|[zZ])$"


@dataclass(frozen=True)
class CompiledColumn:
    """A column's SQL in four steps, each over the one before (computed once per row).

    ``raw`` reads the row; ``text`` reads the raw value by its name (``raw_ref``);
    ``value`` reads the text (``text_ref``); ``check`` reads both (``text_ref``,
    ``value_ref``)."""

    raw: str  # SQL of the raw value over the staged row (a field, a JSON path, an expr:)
    text: str  # SQL of the trimmed, mapped raw text (what quarantine messages quote)
    value: str  # SQL of the typed value, over text_ref
    check: str  # SQL of the problem text, NULL when the value is fine; over both refs


def absent_column(spec: ColumnSpec) -> CompiledColumn:
    """A column the file does not have: empty, typed, never a problem."""
    empty = f"CAST(NULL AS {SQL_TYPES[spec.type or 'string']})"
    nothing = "CAST(NULL AS VARCHAR)"
    return CompiledColumn(raw=nothing, text=nothing, value=empty, check=nothing)


def clean_text(raw: str) -> str:
    """SQL of a raw value as text, trimmed, '' as NULL.

    trim() strips Unicode spaces and is slow (a third of a simple load); an ASCII
    value (as many bytes as characters) can only need it for a leading or
    trailing space, so most values skip it."""
    x = f"CAST({raw} AS VARCHAR)"
    return (
        f"NULLIF(CASE WHEN strlen({x}) > length({x}) OR starts_with({x}, ' ') "
        f"OR ends_with({x}, ' ') THEN trim({x}) ELSE {x} END, '')"
    )


def compile_column(
    name: str,
    spec: ColumnSpec,
    raw: str,
    *,
    raw_ref: str,
    text_ref: str,
    value_ref: str,
    native: str | None = None,
    personal: bool,
    locale: LocaleConfig,
    today: dt.date,
) -> CompiledColumn:
    """SQL for ``name``'s typed value from ``raw`` (an SQL expression over the staged row)."""
    col_type = spec.type or "string"
    native_value = _native(text_ref, col_type, spec, native) if native else None
    if native_value is not None:  # typed already (Parquet, a database): no round trip via text
        mapped, value = raw_ref, native_value
    else:
        text = clean_text(raw_ref)
        mapped = _value_map(text, spec.values) if spec.values else text
        value = _typed(text_ref, col_type, spec)
    if col_type == "number" and spec.currency:
        value = f"({value}) * {_exchange_rate(name, spec.currency, locale)!r}"

    def problem(what: str) -> str:
        # Messages reach logs and terminals: a personal value stays in quarantine.
        if personal:
            return quote_literal(f"{name}: {what} (value kept in quarantine)")
        got = f"left(CAST({text_ref} AS VARCHAR), 60)"
        return f"{quote_literal(f'{name}: {what}, got ')} || '''' || {got} || ''''"

    checks = [
        f"WHEN {text_ref} IS NULL THEN "
        + (quote_literal(f"{name}: required value is missing") if spec.required else "NULL")
    ]
    checks.append(f"WHEN {value_ref} IS NULL THEN {problem(_expected(col_type, spec))}")
    low, high = _bounds(col_type, spec, today)
    if low is not None:
        checks.append(
            f"WHEN {value_ref} < {low} THEN {problem(f'below the minimum {_shown(low)}')}"
        )
    if high is not None:
        checks.append(
            f"WHEN {value_ref} > {high} THEN {problem(f'above the maximum {_shown(high)}')}"
        )
    if spec.allowed is not None:
        options = ", ".join(_sql_scalar(v) for v in spec.allowed if v is not None)
        shown = ", ".join(str(v) for v in spec.allowed)
        checks.append(
            f"WHEN CAST({value_ref} AS VARCHAR) NOT IN ({options}) "
            f"THEN {problem(f'not one of the allowed values ({shown})')}"
        )
    if col_type == "string" and _holds(name, spec, "email"):
        # Plain addresses reach Python as NULL: the engine calls it on whole chunks.
        unusual = f"CASE WHEN {_plain_email(text_ref)} THEN NULL ELSE {text_ref} END"
        checks.append(
            f"WHEN {EMAIL_CHECK}({unusual}) IS NOT NULL THEN {problem('not an e-mail address')}"
        )
    if col_type == "string" and _holds(name, spec, "phone"):
        region = quote_literal(locale.country or "")
        checks.append(
            f"WHEN {PHONE_CHECK}({text_ref}, {region}) IS NOT NULL "
            f"THEN {problem('not a phone number')}"
        )
    check = "CASE " + " ".join(checks) + " END"
    return CompiledColumn(raw=raw, text=mapped, value=value, check=check)


def _holds(name: str, spec: ColumnSpec, key: str) -> bool:
    return spec.key == key or (spec.key is None and name == key)


def _value_map(text: str, values: Mapping[str, object]) -> str:
    # Matched without regard to case: exports write Yes, YES and yes alike.
    arms = " ".join(
        f"WHEN {quote_literal(k.lower())} THEN "
        + ("NULL" if v is None else quote_literal(_scalar_text(v)))
        for k, v in values.items()
    )
    return f"CASE lower({text}) {arms} ELSE {text} END"


def _scalar_text(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _sql_scalar(v: object) -> str:
    return quote_literal(_scalar_text(v))


def _typed(text: str, col_type: str, spec: ColumnSpec) -> str:
    if col_type == "string":
        return text
    if col_type in ("number", "integer"):
        number = text
        if spec.decimal == ",":
            number = f"replace(replace({text}, '.', ''), ',', '.')"
        elif spec.decimal == ".":
            number = f"replace({text}, ',', '')"
        if col_type == "number":
            return f"TRY_CAST({number} AS DOUBLE)"
        # A cast would round 12.7 to 13: an integer column takes whole numbers only.
        as_double = f"TRY_CAST({number} AS DOUBLE)"
        return (
            f"CASE WHEN {as_double} = floor({as_double}) AND abs({as_double}) < 9e15 "
            f"THEN CAST({as_double} AS BIGINT) END"
        )
    if col_type == "boolean":
        return f"TRY_CAST({text} AS BOOLEAN)"
    formats = [spec.format] if isinstance(spec.format, str) else spec.format
    if formats:
        fmt = "[" + ", ".join(quote_literal(f) for f in formats) + "]"
        parsed = f"try_strptime({text}, {fmt})"
        if any("%z" in f or "%Z" in f for f in formats):
            parsed = f"CAST(CAST({parsed} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP)"
        elif spec.timezone:
            parsed = _from_zone(parsed, spec.timezone)
        return f"CAST({parsed} AS DATE)" if col_type == "date" else parsed
    if col_type == "date":
        return f"TRY_CAST({text} AS DATE)"
    # A zoned cast honours a written offset or zone name ('10:00+02:00' is 08:00 UTC),
    # which a TIMESTAMP cast ignores; a naive time reads as UTC (the session's zone).
    zoned = _utc(f"TRY_CAST({text} AS TIMESTAMPTZ)")
    if not spec.timezone:
        return zoned
    naive = _from_zone(f"TRY_CAST({text} AS TIMESTAMP)", spec.timezone)
    return f"CASE WHEN regexp_matches({text}, '{_OFFSET}') THEN {zoned} ELSE {naive} END"


def csv_typed_fields(columns: Mapping[str, ColumnSpec], expr_fields: set[str]) -> dict[str, str]:
    """The fields a CSV reader may parse itself: field -> the type to read it as.

    Only where DuckDB's CSV parser accepts exactly the values the text path accepts
    and gives the same value (tests/ingest/test_csv_typed.py compares the two on
    hundreds of generated values): numbers as DOUBLE, and timestamps without a
    declared zone as TIMESTAMPTZ. Not dates (the parser reads '2020-01-01BC' as
    2020-01-01 AD), not integers (whole numbers only, see ``_typed``), nor booleans.
    A field another column's ``expr:`` reads stays text, as that expression expects."""
    wanted: dict[str, str] = {}
    seen: dict[str, int] = {}
    for name, spec in columns.items():
        if spec.expr is not None:
            continue
        field = spec.source or name
        seen[field] = seen.get(field, 0) + 1
        if spec.values or spec.format or spec.decimal or field in expr_fields:
            continue
        if spec.type == "number":
            wanted[field] = "DOUBLE"
        elif spec.type == "timestamp" and not spec.timezone:
            wanted[field] = "TIMESTAMPTZ"
    return {f: t for f, t in wanted.items() if seen[f] == 1}


_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}
_NUMBER_TYPES = _INTEGER_TYPES | {"UBIGINT", "HUGEINT", "FLOAT", "DOUBLE"}


def _native(typed: str, col_type: str, spec: ColumnSpec, native: str) -> str | None:
    """SQL of a value already stored as a type that fits the column, else None (go via text).

    Only where reading the value as text and back could not change it: no value map,
    no date format, no decimal separator to apply."""
    if spec.values or spec.format or spec.decimal:
        return None
    if col_type == "number" and (native in _NUMBER_TYPES or native.startswith("DECIMAL")):
        return f"CAST({typed} AS DOUBLE)"
    if col_type == "integer" and native in _INTEGER_TYPES:
        return f"CAST({typed} AS BIGINT)"
    if col_type == "boolean" and native == "BOOLEAN":
        return typed
    if col_type == "date" and native == "DATE":
        return typed
    if col_type == "timestamp":
        if native == "TIMESTAMP WITH TIME ZONE":
            return _utc(typed)
        if native in ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "DATE"):
            naive = f"CAST({typed} AS TIMESTAMP)"
            return _from_zone(naive, spec.timezone) if spec.timezone else naive
    return None


def _utc(zoned: str) -> str:
    """A TIMESTAMPTZ as naive UTC. From its epoch, not ``AT TIME ZONE 'UTC'``: the same
    instant, without a time zone library call per value (18 times cheaper); infinite
    times become NULL, so they fail the column's check instead of its range."""
    return f"make_timestamp(epoch_us({zoned}))"


def _from_zone(ts: str, zone: str) -> str:
    """A naive local time in ``zone`` as naive UTC."""
    z = quote_literal(zone)
    return f"CAST(({ts} AT TIME ZONE {z}) AT TIME ZONE 'UTC' AS TIMESTAMP)"


def _expected(col_type: str, spec: ColumnSpec) -> str:
    if spec.format:
        formats = [spec.format] if isinstance(spec.format, str) else spec.format
        return f"expected a {col_type} written as {' or '.join(formats)}"
    hint = {
        "date": "a date (YYYY-MM-DD, or declare its format)",
        "timestamp": "a timestamp (YYYY-MM-DD HH:MM:SS, or declare its format)",
        "integer": "a whole number",
        "number": "a number" + (" with decimal comma" if spec.decimal == "," else ""),
        "boolean": "true/false (map other values with 'values:')",
    }
    return "expected " + hint.get(col_type, col_type)


def _bounds(col_type: str, spec: ColumnSpec, today: dt.date) -> tuple[str | None, str | None]:
    if col_type in ("number", "integer"):
        return (
            None if spec.min is None else repr(float(spec.min)),
            None if spec.max is None else repr(float(spec.max)),
        )
    if col_type in ("date", "timestamp"):
        sql = "DATE" if col_type == "date" else "TIMESTAMP"
        low = str(spec.min) if spec.min is not None else EARLIEST_DATE.isoformat()
        # Anything after the end of today is in the future (time zones allow a day).
        high = str(spec.max) if spec.max is not None else (today + dt.timedelta(days=1)).isoformat()
        return f"{sql} {quote_literal(low)}", f"{sql} {quote_literal(high)}"
    if col_type == "string" and (spec.min is not None or spec.max is not None):
        return (
            None if spec.min is None else quote_literal(str(spec.min)),
            None if spec.max is None else quote_literal(str(spec.max)),
        )
    return None, None


def _shown(sql_literal: str) -> str:
    return re.sub(r"^(DATE|TIMESTAMP) ", "", sql_literal).strip("'")


def _exchange_rate(name: str, currency: str, locale: LocaleConfig) -> float:
    from personify.errors import SourceError

    if locale.currency is None or currency == locale.currency:
        return 1.0
    rate = locale.exchange_rates.get(currency)
    if rate is None:
        raise SourceError(
            f"column '{name}' is in {currency} but the workspace reports in {locale.currency}: "
            f"add locale.exchange_rates.{currency} (units of {locale.currency} per {currency})"
        )
    return float(rate)


# -- checks that need Python -----------------------------------------------------------------
@functools.lru_cache(maxsize=200_000)
def email_problem(value: str | None) -> str | None:
    """Why ``value`` is not an e-mail address, or None when it is one (syntax only)."""
    if value is None:
        return None
    try:
        email_validator.validate_email(value, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        return str(exc)
    return None


@functools.lru_cache(maxsize=200_000)
def phone_problem(value: str | None, region: str | None) -> str | None:
    """Why ``value`` cannot be a phone number; None when it can (or cannot be judged)."""
    if value is None:
        return None
    if re.search(r"[A-Za-z]", re.sub(r"(?i)\b(ext|x)\.?\s*\d+$", "", value)):
        return "letters in a phone number"
    digits = re.sub(r"\D", "", value)
    if len(digits) < 5:
        return "too few digits"
    international = value.lstrip().startswith(("+", "00"))
    if not region and not international:
        return None  # no region to judge a national number by
    text = value.strip()
    if text.startswith("00"):  # read as international in any region, as identity does
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region or None)
    except phonenumbers.NumberParseException as exc:
        return str(exc)
    if not phonenumbers.is_possible_number(number):
        return "not a possible number"
    return None


def register_checks(engine: Engine) -> None:
    """Make the Python checks callable from SQL on this engine (once per connection)."""
    engine.register_scalar_function(
        EMAIL_CHECK, _email_problems, parameters=["VARCHAR"], returns="VARCHAR"
    )
    engine.register_scalar_function(
        PHONE_CHECK, _phone_problems, parameters=["VARCHAR", "VARCHAR"], returns="VARCHAR"
    )


def _distinct_map(
    values: pa.Array | pa.ChunkedArray, judge: Callable[[str], str | None]
) -> pa.Array:
    """``judge`` applied once per distinct value of a chunk (exports repeat values)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    encoded = pc.dictionary_encode(values.cast(pa.string()))
    judged = [judge(v) for v in encoded.dictionary.to_pylist()]
    return pc.take(pa.array(judged, pa.string()), encoded.indices)


def _email_problems(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return _distinct_map(values, email_problem)


def _phone_problems(
    values: pa.Array | pa.ChunkedArray, regions: pa.Array | pa.ChunkedArray
) -> pa.Array:
    # One region per query (the workspace's locale): read it from the first row.
    region = regions[0].as_py() if len(regions) else None
    return _distinct_map(values, lambda v: phone_problem(v, region or None))
