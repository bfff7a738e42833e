"""CSV files into a staging table: every field as text, bad lines to rejects, nothing lost.

Why the dialect is not left to DuckDB's sniffer: one unbalanced quote anywhere in
its sample makes it fall back to a dialect without quotes (or to '|'), so the
header of a perfectly normal file comes back as one column named
'"review_id","account_id",...'. Even with the dialect declared, the sniffer still
runs and fails on such a file. So the dialect is declared or detected here from
the file's first lines, the header is parsed here with the stdlib csv module,
and DuckDB reads the file with ``auto_detect = false`` and the columns given.
In that mode ``strict_mode`` plus ``store_rejects`` reject each broken record
(unterminated quote, too many or too few fields, invalid bytes) with its
position and keep reading. (``strict_mode = false`` instead silently drops
quotes, truncates rows with extra fields and glues lines together;
``ignore_errors`` drops bad rows without a trace; ``max_line_size`` does not
bound a quoted value, so it does not stop a runaway quote.)
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from personify.config import CsvOptions
from personify.engine import DuckDBEngine
from personify.errors import SourceError

log = logging.getLogger(__name__)

DELIMITER_CANDIDATES = (",", ";", "\t", "|")
SAMPLE_BYTES = 1 << 16  # the head read to detect the dialect and parse the header
SAMPLE_LINES = 50
COPY_CHUNK = 1 << 20  # transcoding and byte scans go through the file in 1 MiB pieces
# Encodings DuckDB's CSV reader decodes itself; the rest are transcoded to UTF-8 first.
# UTF-16 is transcoded too: rejects carry byte offsets, and the recovery of a runaway
# quote re-reads the file by offset, which needs single-byte newlines.
NATIVE_ENCODINGS = {"utf-8": "utf-8", "iso8859-1": "latin-1"}
DUCKDB_LINE_TEXT_LIMIT = 10_000  # DuckDB cuts a rejected record's text at this many characters


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Dialect:
    delimiter: str
    quote: str  # '' for none
    escape: str  # '' for none
    encoding: str  # Python codec name


@dataclass(frozen=True)
class CsvTables:
    """One file staged: ``table`` has the fields plus ``_row`` and ``_line``."""

    table: str
    fields: list[str]
    rejects: str  # line, reason, text
    # When ``table`` is a view numbering the rows of this table (the common file): drop
    # the view, then this table, once the load is done.
    under: str | None = None
    typed: bool = False  # some fields were parsed by the reader (not text)


def stage_csv_file(
    engine: DuckDBEngine,
    path: Path,
    name: str,
    options: CsvOptions | None = None,
    *,
    types: dict[str, str] | None = None,
) -> CsvTables:
    """Stage one file; ``types`` (field -> SQL type) are parsed by the reader itself.

    A typed read is a fast path: if the parser cannot cast a value of a typed field,
    the file is staged again with every field as text, so the checks see and quote
    the value as it is in the file."""
    options = options or CsvOptions()
    encoding = _codec_name(options.encoding or "utf-8", path)
    with (
        _utf8_or_native(path, encoding) as (readable, duck_encoding),
        _tabs_for_whitespace(readable, duck_encoding, options) as (readable, options),
    ):
        head = _head_text(readable, "utf-8" if duck_encoding == "utf-8" else encoding, path)
        head_lines = head.splitlines(keepends=True)[options.skip_rows :]
        dialect = _dialect(head_lines, options, encoding)
        fields = _field_names(head_lines, dialect, header=options.header)
        if not fields:
            raise SourceError(f"{path.name}: no header line (the file is empty)")
        first_line = options.skip_rows + (
            _header_span(head_lines, dialect) if options.header else 0
        )
        return _stage(
            engine,
            readable,
            name,
            fields=fields,
            dialect=dialect,
            duck_encoding=duck_encoding,
            skip=options.skip_rows,
            header=options.header,
            first_line=first_line + 1,
            duck_first=options.skip_rows + (2 if options.header else 1),
            types=types or {},
        )


# Encodings ------------------------------------------------------------------------------------
def _codec_name(encoding: str, path: Path) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise SourceError(f"{path.name}: unknown encoding '{encoding}' (csv.encoding)") from None


@contextmanager
def _utf8_or_native(path: Path, encoding: str) -> Iterator[tuple[Path, str]]:
    """The file as DuckDB can read it: itself, or a temporary UTF-8 copy."""
    if encoding in NATIVE_ENCODINGS:
        yield path, NATIVE_ENCODINGS[encoding]
        return
    with tempfile.TemporaryDirectory(prefix="personify-csv-") as tmp:
        target = Path(tmp) / (path.stem + ".utf8.csv")
        try:
            # Streaming: one chunk in memory at a time, whatever the file's size.
            # newline='' keeps line ends as they are, so line numbers do not move.
            with (
                open(path, encoding=encoding, newline="") as src,
                open(target, "w", encoding="utf-8", newline="") as dst,
            ):
                shutil.copyfileobj(src, dst, COPY_CHUNK)
        except UnicodeDecodeError as exc:
            raise SourceError(
                f"{path.name}: not valid {encoding} at byte {exc.start} (csv.encoding)"
            ) from None
        yield target, "utf-8"


@contextmanager
def _tabs_for_whitespace(
    path: Path, duck_encoding: str, options: CsvOptions
) -> Iterator[tuple[Path, CsvOptions]]:
    """Space-padded columns (legacy and fixed-layout exports) as a tab-separated copy.

    No CSV reader splits on runs of blanks; each line keeps its number."""
    if options.delimiter != "whitespace":
        yield path, options
        return
    codec = "utf-8" if duck_encoding == "utf-8" else "latin-1"
    with tempfile.TemporaryDirectory(prefix="personify-ws-") as tmp:
        target = Path(tmp) / (path.stem + ".tsv")
        with (
            open(path, encoding=codec, newline="") as src,
            open(target, "w", encoding=codec, newline="") as dst,
        ):
            for line in src:  # streaming, one line at a time
                end = line[len(line.rstrip("\r\n")) :]
                dst.write("\t".join(line.split()) + end)
        yield target, options.model_copy(update={"delimiter": "\t", "quote": ""})


def _head_text(path: Path, encoding: str, original: Path) -> str:
    with open(path, "rb") as f:
        raw = f.read(SAMPLE_BYTES)
    if len(raw) == SAMPLE_BYTES:  # cut at the last whole line
        raw = raw[: raw.rfind(b"\n") + 1] or raw
    codec = "utf-8-sig" if encoding == "utf-8" else encoding
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SourceError(
            f"{original.name}: line {line} is not valid {encoding}; "
            "set csv.encoding (for example latin-1 or cp1252)"
        ) from None


# Dialect and header ---------------------------------------------------------------------------
def _dialect(head_lines: list[str], options: CsvOptions, encoding: str) -> Dialect:
    quote = '"' if options.quote is None else options.quote
    sample = "".join(head_lines[:SAMPLE_LINES])
    delimiter = options.delimiter or _detect_delimiter(sample, quote)
    if options.escape is not None:
        escape = options.escape
    elif quote and ("\\" + quote) in sample and (quote + quote) not in sample:
        escape = "\\"
    else:
        escape = quote
    return Dialect(delimiter, quote, escape, encoding)


def _detect_delimiter(sample: str, quote: str) -> str:
    """The candidate that splits the most lines into as many fields as the first line.

    Consistency over a few dozen lines, parsed by the csv module, so one broken
    line does not change the answer (unlike DuckDB's sniffer, see the module doc).
    """
    best, best_score = ",", (0, 0)
    for delim in DELIMITER_CANDIDATES:
        rows = [r for r in _parse(sample, delim, quote, quote) if r]
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        score = (sum(len(r) == width for r in rows), width)
        if score > best_score:
            best, best_score = delim, score
    return best


def _parse(text: str, delimiter: str, quote: str, escape: str) -> list[list[str]]:
    kwargs: dict[str, object] = {"delimiter": delimiter, "strict": False}
    if quote:
        kwargs.update(quotechar=quote, doublequote=escape == quote)
        if escape and escape != quote:
            kwargs["escapechar"] = escape
    else:
        kwargs["quoting"] = csv.QUOTE_NONE
    try:
        return list(csv.reader(io.StringIO(text), **kwargs))  # type: ignore[arg-type]
    except csv.Error:
        return []


def _field_names(head_lines: list[str], dialect: Dialect, *, header: bool) -> list[str]:
    rows = [
        r for r in _parse("".join(head_lines), dialect.delimiter, dialect.quote, dialect.escape)
    ]
    rows = [r for r in rows if r]
    if not rows:
        return []
    if not header:
        # No header: the fields are named column1..N, N the widest of the first lines.
        width = max(len(r) for r in rows[:SAMPLE_LINES])
        return [f"column{i}" for i in range(1, width + 1)]
    names: list[str] = []
    for i, raw in enumerate(rows[0], start=1):
        base = raw.strip() or f"column{i}"
        name, n = base, 0
        while name in names or name in ("_row", "_line", "_file"):
            n += 1
            name = f"{base}_{n}"
        if name != base:
            # Header names are not personal data: say which column was renamed and why.
            log.warning(
                "header column %d is named %r like an earlier one; it is read as %r", i, base, name
            )
        names.append(name)
    return names


def _header_span(head_lines: list[str], dialect: Dialect) -> int:
    """Physical lines the header takes (a quoted header name may hold a line break)."""
    reader_input = io.StringIO("".join(head_lines))
    kwargs: dict[str, object] = {"delimiter": dialect.delimiter, "strict": False}
    if dialect.quote:
        kwargs["quotechar"] = dialect.quote
    else:
        kwargs["quoting"] = csv.QUOTE_NONE
    reader = csv.reader(reader_input, **kwargs)  # type: ignore[arg-type]
    for row in reader:
        if row:
            return reader.line_num
    return 1


# Staging --------------------------------------------------------------------------------------
def _read_csv_sql(
    path: Path, fields: list[str], dialect: Dialect, types: dict[str, str], **opts: object
) -> str:
    columns = (
        "{"
        + ", ".join(f"{quote_literal(f)}: {quote_literal(types.get(f, 'VARCHAR'))}" for f in fields)
        + "}"
    )
    args = [
        quote_literal(str(path)),
        f"columns = {columns}",
        "auto_detect = false",
        "strict_mode = true",
        "store_rejects = true",
        f"delim = {quote_literal(dialect.delimiter)}",
        f"quote = {quote_literal(dialect.quote)}",
        f"escape = {quote_literal(dialect.escape)}",
    ]
    args += [f"{k} = {v}" for k, v in opts.items()]
    return f"read_csv({', '.join(args)})"


def _stage(
    engine: DuckDBEngine,
    path: Path,
    name: str,
    *,
    fields: list[str],
    dialect: Dialect,
    duck_encoding: str,
    skip: int,
    header: bool,
    first_line: int,
    duck_first: int,
    types: dict[str, str],
) -> CsvTables:
    stage, err, scan, rejects = (f"{p}_{name}" for p in ("_cstage", "_cerr", "_cscan", "_crej"))
    read = f"_cread_{name}"
    reader = _read_csv_sql(
        path,
        fields,
        dialect,
        types,
        header="true" if header else "false",
        skip=skip,
        encoding=quote_literal(duck_encoding),
        rejects_table=quote_literal(err),
        rejects_scan=quote_literal(scan),
    )
    # The line scan (Python, for blank lines) runs while DuckDB parses (it frees the GIL).
    with ThreadPoolExecutor(max_workers=1) as pool:
        scanned = pool.submit(_scan_lines, path, first_line)
        position = _parse_into(engine, read, reader)
        line_scan = scanned.result()
    if types and engine.scalar(f"SELECT count(*) FROM {err}"):
        # A value the parser cannot cast, or a broken record (whose recovery reads text):
        # read every field as text.
        engine.sql(f"DROP TABLE {err}; DROP TABLE {scan}; DROP TABLE {read}")
        return _stage(
            engine,
            path,
            name,
            fields=fields,
            dialect=dialect,
            duck_encoding=duck_encoding,
            skip=skip,
            header=header,
            first_line=first_line,
            duck_first=duck_first,
            types={},
        )
    # One line per rejected record; the parser may report several errors for it.
    rows = engine.sql(
        f"""SELECT line, min(line_byte_position),
                   arg_min(error_type || ': ' || error_message, column_idx),
                   any_value(csv_line), bool_or(error_type = 'UNQUOTED VALUE')
            FROM {err} GROUP BY line ORDER BY line"""
    ).fetchall()
    engine.sql(f"DROP TABLE {err}; DROP TABLE {scan}")
    rejected = [_Reject(int(r[0]), int(r[1]), str(r[2]), str(r[3] or ""), bool(r[4])) for r in rows]
    _measure_runaway_quotes(path, rejected, dialect)
    blanks, total_lines = line_scan
    good = engine.count(read)
    one_line_each = total_lines == first_line - 1 + good + sum(r.span for r in rejected) + len(
        blanks
    )
    if one_line_each and not blanks and not rejected:
        # The common file: good record k is on line first_line + k - 1. A view numbers
        # the rows by their position, so the file is neither copied nor numbered in one
        # thread (row_number() OVER () would serialise the parallel read).
        engine.sql(
            f"CREATE OR REPLACE TEMP TABLE {rejects} (line BIGINT, reason VARCHAR, text VARCHAR)"
        )
        view = f"_csv_{name}"
        engine.sql(
            f"""CREATE OR REPLACE TEMP VIEW {view} AS
            SELECT *, {position} AS _row, {first_line - 1} + {position} AS _line FROM {read}"""
        )
        return CsvTables(view, fields, rejects, under=read, typed=bool(types))
    engine.sql(
        f"""CREATE OR REPLACE TEMP TABLE {stage} AS
        SELECT *, {position} AS _rec, {first_line - 1} + {position} AS _line FROM {read}"""
    )
    engine.sql(f"DROP TABLE {read}")
    lines = _assign_lines(
        engine,
        stage,
        fields,
        rejected,
        (blanks, one_line_each),
        first_line=first_line,
        duck_first=duck_first,
    )

    engine.sql(
        f"CREATE OR REPLACE TEMP TABLE {rejects} (line BIGINT, reason VARCHAR, text VARCHAR)"
    )
    for rej, line in zip(rejected, lines, strict=True):
        first, rest = rej.split()
        reason = rej.reason
        if rest is not None:
            reason += "; the lines the open quote ran into were read as records of their own"
        engine.sql(f"INSERT INTO {rejects} VALUES (?, ?, ?)", [line, reason, first])
        if rest is not None:
            _recover(
                engine,
                rest,
                name,
                stage,
                rejects,
                fields=fields,
                dialect=dialect,
                first_line=line + 1,
            )
    table = f"_csv_{name}"
    if any(rej.rest is not None for rej in rejected):
        # Records read again sit between the others: number them in file order.
        engine.sql(
            f"""CREATE OR REPLACE TEMP TABLE {table} AS
            SELECT * EXCLUDE (_rec), row_number() OVER (ORDER BY _line) AS _row
            FROM {stage} ORDER BY _line"""
        )
        engine.sql(f"DROP TABLE {stage}")
    else:  # the good records are in file order already: no copy
        engine.sql(f"ALTER TABLE {stage} RENAME COLUMN _rec TO _row")
        engine.sql(f"DROP TABLE IF EXISTS {table}; ALTER TABLE {stage} RENAME TO {table}")
    return CsvTables(table, fields, rejects, typed=bool(types))


def drop_csv_tables(engine: DuckDBEngine, staged: CsvTables) -> None:
    """Drop what staging one file left (its rows, view and rejects)."""
    if staged.under:
        engine.sql(f"DROP VIEW IF EXISTS {staged.table}; DROP TABLE IF EXISTS {staged.under}")
    else:
        engine.sql(f"DROP TABLE IF EXISTS {staged.table}")
    engine.sql(f"DROP TABLE IF EXISTS {staged.rejects}")


def _parse_into(engine: DuckDBEngine, table: str, reader: str) -> str:
    """Read the file into ``table``, in parallel; return the SQL of a row's position (1, 2, ...).

    The table is filled by one statement with insertion order preserved (DuckDB's
    default), so its row ids are consecutive in file order: a row's position is its
    row id less the first one (inside a transaction row ids start far from 0)."""
    engine.sql(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {reader}")
    first = engine.scalar(f"SELECT min(rowid) FROM {table}")
    return f"(rowid - {int(first or 0) - 1})"


@dataclass(frozen=True)
class _Slice:
    path: Path
    start: int
    end: int


@dataclass
class _Reject:
    duck_line: int  # DuckDB's count: lines, but a quoted line break does not count
    byte_pos: int
    reason: str
    text: str
    unterminated: bool
    span: int = 1  # physical lines the record takes
    rest: str | _Slice | None = None  # what a runaway quote swallowed, to be read again

    def split(self) -> tuple[str, str | _Slice | None]:
        if self.rest is None:
            return self.text, None
        return self.text.split("\n", 1)[0].rstrip("\r"), self.rest


def _measure_runaway_quotes(path: Path, rejected: list[_Reject], dialect: Dialect) -> None:
    """Spans of rejected records, and what an unterminated quote swallowed.

    An opening quote that never closes makes the parser take every following line
    into one value (to the next quote character, or to the end of the file). Those
    lines are real records: they are read again, and only the first line is rejected.
    """
    for rej in rejected:
        text = rej.text[:-1] if rej.text.endswith("\n") else rej.text
        text = text[:-1] if text.endswith("\r") else text
        if len(rej.text) < DUCKDB_LINE_TEXT_LIMIT:
            rej.span = 1 + text.count("\n")
            if rej.unterminated and "\n" in text:
                rej.rest = text.split("\n", 1)[1] + "\n"
            continue
        # The text was cut: measure the record in the file itself.
        end = _runaway_end(path, rej.byte_pos, dialect.quote)
        with open(path, "rb") as f:
            f.seek(rej.byte_pos)
            first = f.readline()
            start = rej.byte_pos + len(first)
        rej.span = 1 + _count_newlines(path, start, end)
        if rej.unterminated and end > start:
            rej.rest = _Slice(path, start, end)


def _runaway_end(path: Path, record_start: int, quote: str) -> int:
    """Where the parser stopped: the end of the line holding the next quote after the
    record's first line, or the end of the file."""
    q = quote.encode() or b'"'
    with open(path, "rb") as f:
        f.seek(record_start)
        first = f.readline()
        pos = record_start + len(first)
        while chunk := f.read(COPY_CHUNK):
            hit = chunk.find(q)
            if hit >= 0:
                f.seek(pos + hit)
                f.readline()
                return f.tell()
            pos += len(chunk)
        return pos


def _count_newlines(path: Path, start: int, end: int) -> int:
    count = 0
    with open(path, "rb") as f:
        f.seek(start)
        left = end - start
        while left > 0 and (chunk := f.read(min(COPY_CHUNK, left))):
            count += chunk.count(b"\n")
            left -= len(chunk)
    # The record's own last line break ends it, it is not a line inside it.
    return max(count - 1, 0)


def _recover(
    engine: DuckDBEngine,
    rest: str | _Slice,
    name: str,
    stage: str,
    rejects: str,
    *,
    fields: list[str],
    dialect: Dialect,
    first_line: int,
) -> None:
    """Read again, as records of their own, the lines a runaway quote swallowed."""
    with tempfile.TemporaryDirectory(prefix="personify-csv-") as tmp:
        part = Path(tmp) / "rest.csv"
        if isinstance(rest, _Slice):
            with open(rest.path, "rb") as src, open(part, "wb") as dst:
                src.seek(rest.start)
                left = rest.end - rest.start
                while left > 0 and (chunk := src.read(min(COPY_CHUNK, left))):
                    dst.write(chunk)
                    left -= len(chunk)
        else:
            part.write_text(str(rest), encoding="utf-8", newline="")
        sub = _stage(
            engine,
            part,
            f"{name}_r{first_line}",
            fields=fields,
            dialect=Dialect(dialect.delimiter, dialect.quote, dialect.escape, "utf-8"),
            duck_encoding="utf-8",
            skip=0,
            header=False,
            first_line=first_line,
            duck_first=1,
            types={},
        )
        engine.sql(
            f"INSERT INTO {stage} BY NAME SELECT * EXCLUDE (_row), NULL AS _rec FROM {sub.table}"
        )
        engine.sql(f"INSERT INTO {rejects} SELECT * FROM {sub.rejects}")
        drop_csv_tables(engine, sub)


def _assign_lines(
    engine: DuckDBEngine,
    stage: str,
    fields: list[str],
    rejected: list[_Reject],
    line_scan: tuple[list[int], bool],
    *,
    first_line: int,
    duck_first: int,
) -> list[int]:
    """Give each good row its line in the file (``_line``); return the rejects' lines.

    DuckDB numbers neither good rows nor physical lines: its reject line counts
    lines but not line breaks inside quoted values. A good record's line is the
    first data line plus the lines every record before it takes, plus the blank
    lines before it (the parser skips them). The common file (no quoted line
    breaks, no blank lines) takes one SQL expression; otherwise a walk over the
    blank lines and rejects (few), advancing over good rows in vectorised steps.
    """
    # one_line_each: no line break inside a good record's value (the file would be longer).
    blanks, one_line_each = line_scan
    if one_line_each and not blanks:
        if not rejected:
            return []  # _line as staged is right
        # Good record k follows k - 1 good records and the rejected ones before it.
        marks, lines, taken = [], [], 0
        for j, r in enumerate(rejected):
            goods_before = r.duck_line - duck_first - j
            lines.append(first_line + goods_before + taken)
            taken += r.span
            marks.append((goods_before, taken))
        engine.sql(
            f"""CREATE OR REPLACE TEMP TABLE {stage} AS
            WITH m AS (SELECT unnest(?::BIGINT[]) AS g, unnest(?::BIGINT[]) AS taken)
            SELECT s.* REPLACE ({first_line} - 1 + s._rec + coalesce(m.taken, 0) AS _line)
            FROM {stage} s ASOF LEFT JOIN m ON s._rec > m.g
            ORDER BY s._rec""",
            [[m[0] for m in marks], [m[1] for m in marks]],
        )
        return lines

    joined = " || ".join(f"coalesce(CAST({quote_ident(f)} AS VARCHAR), '')" for f in fields)
    spans = engine.sql(
        f"""SELECT 1 + strlen({joined}) - strlen(replace({joined}, chr(10), '')) AS span
            FROM {stage} ORDER BY _rec"""
    ).fetchnumpy()
    span = np.asarray(spans["span"], dtype=np.int64)
    good_lines, reject_lines = _walk(span, rejected, blanks, first_line, duck_first)
    view = f"_lines_{stage}"
    engine.con.register(
        view, pa.table({"_rec": np.arange(1, len(span) + 1, dtype=np.int64), "_line": good_lines})
    )
    engine.sql(
        f"""CREATE OR REPLACE TEMP TABLE {stage} AS
        SELECT s.* REPLACE (l._line AS _line) FROM {stage} s JOIN {view} l USING (_rec)
        ORDER BY s._rec"""
    )
    engine.con.unregister(view)
    return reject_lines


def _walk(
    span: np.ndarray, rejected: list[_Reject], blanks: list[int], first_line: int, duck_first: int
) -> tuple[np.ndarray, list[int]]:
    n = len(span)
    starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(span, out=starts[1:])  # line offset of good row i from the first good row
    lines = np.zeros(n, dtype=np.int64)
    reject_lines: list[int] = []
    phys, duck, gi, ri, bi = first_line, duck_first, 0, 0, 0
    while gi < n or ri < len(rejected):
        while bi < len(blanks) and blanks[bi] < phys:
            bi += 1  # a blank line inside a quoted value: part of a record
        if bi < len(blanks) and blanks[bi] == phys:
            phys, duck, bi = phys + 1, duck + 1, bi + 1
            continue
        if ri < len(rejected) and (rejected[ri].duck_line <= duck or gi == n):
            reject_lines.append(phys)
            phys, duck, ri = phys + rejected[ri].span, duck + 1, ri + 1
            continue
        k = n - gi
        if ri < len(rejected):
            k = min(k, rejected[ri].duck_line - duck)
        if bi < len(blanks):
            rel = starts[gi : gi + k + 1] - starts[gi]
            k = min(k, max(int(np.searchsorted(rel, blanks[bi] - phys, side="left")), 1))
        lines[gi : gi + k] = phys + starts[gi : gi + k] - starts[gi]
        phys += int(starts[gi + k] - starts[gi])
        duck += k
        gi += k
    return lines, reject_lines


def _scan_lines(path: Path, first_line: int) -> tuple[list[int], int]:
    """The empty lines from ``first_line`` on, and the number of lines, in one pass.

    bytes.find and bytes.count run at memory speed; a regex over every byte would not.
    """
    found: list[int] = []
    line = 1  # the number of the line that ``carry`` begins
    carry = b""
    with open(path, "rb") as f:
        while chunk := f.read(COPY_CHUNK):
            data = carry + chunk
            last = data.rfind(b"\n")
            if last < 0:
                carry = data if len(data) <= 2 else b"xx"  # only an empty line matters
                continue
            whole = data[: last + 1]
            # A line is empty where it starts with its own line break.
            starts = [0] if whole.startswith((b"\n", b"\r\n")) else []
            for pattern in (b"\n\n", b"\n\r\n"):
                at = whole.find(pattern)
                while at >= 0:
                    starts.append(at + 1)
                    at = whole.find(pattern, at + 1)
            pos, number = 0, line
            for start in sorted(starts):
                number += whole.count(b"\n", pos, start)
                pos = start
                if number >= first_line:
                    found.append(number)
            line += whole.count(b"\n")
            rest = data[last + 1 :]
            carry = rest if len(rest) <= 2 else b"xx"
    return found, line - 1 + (1 if carry else 0)
