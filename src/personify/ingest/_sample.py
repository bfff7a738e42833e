"""Read the first rows of a data file and describe each column's values.

Used by ``personify sources suggest``: only a sample is read (``LIMIT``), never
the whole file. Values are profiled as text, the way the loader reads a CSV
(``all_varchar``), so the formats found here are the ones its casts will meet;
date formats are tried with DuckDB's own ``try_strptime``, the function the
loader applies.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from personify.errors import SourceError
from personify.ingest._readers import quote_literal


@dataclass(frozen=True)
class Sample:
    fields: list[str]
    values: dict[str, list[str]]  # each field's non-empty, trimmed values as text
    native: dict[str, str]  # Parquet: the field's own type (integer, number, boolean, ...)
    rows: int
    csv: dict[str, str] = field(default_factory=dict)  # CSV options the file needs


def read_sample(path: Path, fmt: str, *, rows: int) -> Sample:
    if not path.is_file():
        raise SourceError(
            f"{path}: {'a folder, not a file' if path.is_dir() else 'file not found'}"
        )
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        if fmt == "parquet":
            return _parquet(con, path, rows)
        if fmt in ("json", "jsonl"):
            return _json(con, path, rows)
        if fmt == "xlsx":
            return _xlsx(path, rows)
        return _csv(con, path, rows)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceError(f"{path}: cannot read it as {fmt}: {first}") from None
    finally:
        con.close()


def _csv(con: duckdb.DuckDBPyConnection, path: Path, rows: int) -> Sample:
    with path.open("rb") as f:
        head = f.read(1 << 20)
    if not head.strip():
        raise SourceError(f"{path}: the file is empty")
    options: dict[str, str] = {}
    extra = ""
    try:
        # The last character may be cut in two by the 1 MB read: ignore an unfinished one.
        head.decode("utf-8") if len(head) < 1 << 20 else head[:-3].decode("utf-8")
    except UnicodeDecodeError:
        # Not UTF-8: Windows and older exports are mostly latin-1 (or cp1252).
        options["encoding"] = "latin-1"
        extra = ", encoding = 'latin-1'"
    # Lines the sniffer cannot split are skipped here: the sample needs columns, not every row.
    rel = con.execute(
        f"SELECT * FROM read_csv({quote_literal(str(path))}, header = true, all_varchar = true, "
        f"ignore_errors = true{extra}) LIMIT {rows}"
    )
    fields = [d[0] for d in rel.description]
    data = rel.fetchall()
    return Sample(fields, _columns(fields, data), {}, len(data), options)


_PARQUET_TYPES = [
    (r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT)$", "integer"),
    (r"^(FLOAT|DOUBLE|REAL|DECIMAL.*)$", "number"),
    (r"^BOOLEAN$", "boolean"),
    (r"^DATE$", "date"),
    (r"^TIMESTAMP.*$", "timestamp"),
]


def _parquet(con: duckdb.DuckDBPyConnection, path: Path, rows: int) -> Sample:
    rel = con.execute(f"SELECT * FROM read_parquet({quote_literal(str(path))}) LIMIT {rows}")
    fields = [d[0] for d in rel.description]
    data = rel.fetchall()
    described = con.execute(
        f"DESCRIBE SELECT * FROM read_parquet({quote_literal(str(path))})"
    ).fetchall()
    native = {}
    for name, sql_type, *_ in described:
        for pattern, kind in _PARQUET_TYPES:
            if re.match(pattern, str(sql_type)):
                native[name] = kind
    return Sample(fields, _columns(fields, data), native, len(data))


def _json(con: duckdb.DuckDBPyConnection, path: Path, rows: int) -> Sample:
    # Whole objects, flattened to the dotted paths the loader reads ('traits.email').
    rel = con.execute(
        f"SELECT json FROM read_json_objects({quote_literal(str(path))}, format = 'auto', "
        "ignore_errors = true) "
        f"LIMIT {rows}"
    )
    records = []
    for (text,) in rel.fetchall():
        if text is None:  # a line that is no JSON (skipped by ignore_errors)
            continue
        doc = json.loads(text)
        if isinstance(doc, dict):
            records.append(_flatten(doc))
    fields: list[str] = []
    for rec in records:
        fields += [k for k in rec if k not in fields]
    data = [tuple(rec.get(f) for f in fields) for rec in records]
    return Sample(fields, _columns(fields, data), {}, len(data))


def _flatten(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        elif isinstance(value, list):
            out[f"{prefix}{key}"] = json.dumps(value)
        else:
            out[f"{prefix}{key}"] = value
    return out


def _xlsx(path: Path, rows: int) -> Sample:
    try:
        import openpyxl
    except ImportError:
        raise SourceError(
            f"{path}: reading .xlsx files needs openpyxl (pip install openpyxl)"
        ) from None
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        lines = list(sheet.iter_rows(max_row=rows + 1, values_only=True))
    finally:
        book.close()
    if not lines:
        return Sample([], {}, {}, 0)
    fields = [str(v) if v is not None else f"column{i}" for i, v in enumerate(lines[0])]
    return Sample(fields, _columns(fields, lines[1:]), {}, len(lines) - 1)


def _columns(fields: list[str], data: list[tuple[Any, ...]]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {f: [] for f in fields}
    for row in data:
        for f, v in zip(fields, row, strict=False):
            text = _text(v)
            if text:
                values[f].append(text)
    return values


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


# -- what the values look like ----------------------------------------------------------------
_INT = re.compile(r"^[+-]?\d+$")
_DOT_PLAIN = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_DOT_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_COMMA_PLAIN = re.compile(r"^[+-]?\d+,\d+$")
_COMMA_GROUPED = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^(\+|00)?[\d\s().\-/]{6,24}$")
_DATEISH = re.compile(r"^[\d\s./:\-TZ+APMapm,]+$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_TIMESTAMP = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*([zZ]|[+-]\d{2}(:?\d{2})?)?$"
)
# Symbols and codes a money value may carry in its cells.
_MONEY_SIGNS = ("€", "$", "£", "¥", "₹", "CHF", "EUR", "USD", "GBP")

TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "ja", "j", "oui", "si", "sí", "wahr", "vrai"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "nein", "non", "falso", "faux", "falsch"})

DATE_FORMATS = (
    "%Y-%m-%d",
    "%d.%m.%Y",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%Y%m%d",
    "%d.%m.%y",
    "%d/%m/%y",
    "%m/%d/%y",
)
TIME_FORMATS = (
    "",
    " %H:%M:%S",
    " %H:%M",
    "T%H:%M:%S",
    "T%H:%M",
    " %H:%M:%S.%f",
    "T%H:%M:%S.%f",
    " %H:%M:%S%z",
    "T%H:%M:%S%z",
    " %I:%M %p",
    " %I:%M:%S %p",
)


@dataclass(frozen=True)
class Profile:
    """What one column's sampled values look like."""

    count: int  # non-empty values
    distinct: Counter[str]
    integer: bool = False
    number: bool = False
    decimal: str | None = None  # '.' or ',' when the values need it said
    decimal_ambiguous: bool = False
    money_sign: str | None = None  # a symbol or code written in the cells
    boolean: dict[str, bool] | None = None  # value -> true/false
    date_formats: list[str] = field(default_factory=list)  # all formats parsing every value
    iso_date: bool = False
    iso_timestamp: bool = False
    has_time: bool = False
    email: bool = False
    phone: bool = False
    mean_length: float = 0.0
    spaces: float = 0.0  # share of values with a space

    @property
    def is_date(self) -> bool:
        return self.iso_date or self.iso_timestamp or bool(self.date_formats)

    @property
    def low_high(self) -> tuple[float, float] | None:
        if not self.number or not self.distinct:
            return None
        sign = self.money_sign or ""
        nums = [
            _as_float(v.removeprefix(sign).removesuffix(sign).strip(), self.decimal)
            for v in self.distinct
        ]
        return min(nums), max(nums)


def _as_float(text: str, decimal: str | None) -> float:
    if decimal == ",":
        return float(text.replace(".", "").replace(",", "."))
    return float(text.replace(",", ""))


def profile(values: list[str], *, date_hint: bool = False) -> Profile:
    """Describe ``values`` (non-empty text); ``date_hint``: the name suggests a date."""
    distinct = Counter(values)
    n = len(values)
    if n == 0:
        return Profile(0, distinct)
    keys = list(distinct)
    base: dict[str, Any] = {
        "count": n,
        "distinct": distinct,
        "mean_length": sum(len(v) for v in values) / n,
        "spaces": sum(" " in v for v in values) / n,
    }
    lowered = {k.lower() for k in keys}
    both = bool(lowered & TRUE_WORDS) and bool(lowered & FALSE_WORDS)
    # A lone '1' is a number; a lone 'yes' already says what the column is.
    if (
        lowered <= TRUE_WORDS | FALSE_WORDS
        and len(lowered) <= 2
        and (both or not lowered <= {"0", "1"})
    ):
        base["boolean"] = {k: k.lower() in TRUE_WORDS for k in keys}
    money, stripped = _strip_money(keys)
    number = _number_style(stripped)
    if number is not None:
        style, ambiguous = number
        base["number"] = True
        base["integer"] = style == "int"
        base["decimal"] = style if style in (".", ",") else None
        base["decimal_ambiguous"] = ambiguous
        base["money_sign"] = money
    if not base.get("number") or date_hint:
        base.update(_dates(keys, date_hint=date_hint))
    if not base.get("number") and not base.get("iso_date") and not base.get("date_formats"):
        base["email"] = _share(keys, distinct, _EMAIL.match) >= 0.9
        base["phone"] = not base["email"] and _share(keys, distinct, _phone_like) >= 0.9
    return Profile(**base)


def _share(keys: list[str], distinct: Counter[str], test: Any) -> float:
    total = sum(distinct.values())
    return sum(distinct[k] for k in keys if test(k)) / total


def _phone_like(value: str) -> bool:
    if not _PHONE.match(value):
        return False
    digits = sum(c.isdigit() for c in value)
    # A plain run of digits is as likely a customer number: a phone shows its form.
    marked = value.startswith(("+", "00", "(")) or bool(re.search(r"\d[\s\-/]\d", value))
    return 7 <= digits <= 15 and marked


def _strip_money(keys: list[str]) -> tuple[str | None, list[str]]:
    """A currency sign all values carry (first or last), and the values without it."""
    for sign in _MONEY_SIGNS:
        if all(k.startswith(sign) or k.endswith(sign) for k in keys):
            return sign, [k.removeprefix(sign).removesuffix(sign).strip() for k in keys]
    return None, keys


def _number_style(keys: list[str]) -> tuple[str, bool] | None:
    """('int' | 'plain' | '.' | ',', ambiguous) when every value is a number, else None."""
    if all(_INT.match(k) for k in keys):
        return "int", False
    dot = all(_DOT_PLAIN.match(k) or _DOT_GROUPED.match(k) for k in keys)
    comma = all(_INT.match(k) or _COMMA_PLAIN.match(k) or _COMMA_GROUPED.match(k) for k in keys)
    if dot and comma:
        # Every value reads both ways ('1.234', '1,234'): a guess either way.
        grouped = any(_DOT_GROUPED.match(k) for k in keys)
        return ("." if grouped else "plain"), True
    if dot:
        return ("." if any(_DOT_GROUPED.match(k) for k in keys) else "plain"), False
    if comma:
        return ",", False
    return None


def _dates(keys: list[str], *, date_hint: bool) -> dict[str, Any]:
    if not all(_DATEISH.match(k) and any(c.isdigit() for c in k) for k in keys):
        return {}
    if all(_ISO_DATE.match(k) for k in keys) and _all_cast(keys, "DATE"):
        return {"iso_date": True}
    if all(_ISO_TIMESTAMP.match(k) or _ISO_DATE.match(k) for k in keys) and _all_cast(
        keys, "TIMESTAMPTZ"
    ):
        return {"iso_timestamp": True, "has_time": True}
    candidates = [d + t for t in TIME_FORMATS for d in DATE_FORMATS]
    if not date_hint:
        candidates = [c for c in candidates if not c.startswith("%Y%m%d")]
    checks = ", ".join(
        f"count(*) FILTER (WHERE try_strptime(v, {quote_literal(c)}) IS NULL)" for c in candidates
    )
    with duckdb.connect() as con:
        misses = con.execute(f"SELECT {checks} FROM (SELECT unnest(?) AS v)", [keys]).fetchone()
    found = [c for c, miss in zip(candidates, misses or (), strict=True) if miss == 0]
    return {"date_formats": found, "has_time": any("%H" in f or "%I" in f for f in found)}


def _all_cast(keys: list[str], sql_type: str) -> bool:
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        misses = con.execute(
            f"SELECT count(*) FILTER (WHERE TRY_CAST(v AS {sql_type}) IS NULL) "
            "FROM (SELECT unnest(?) AS v)",
            [keys],
        ).fetchone()
    return misses is not None and misses[0] == 0
