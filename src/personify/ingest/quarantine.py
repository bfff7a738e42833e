"""Working with quarantined rows: what was rejected, why, and loading it again once fixed.

Every load re-judges its source's quarantine: a rejected row that is gone from
the file (fixed or removed there) leaves quarantine, and a changed mapping
rebuilds the source, so rows it now accepts load. ``retry`` runs exactly that
for the sources that have quarantined rows and says how many came through.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from personify.errors import SourceError
from personify.ingest.kinds import PERSONAL_COLUMNS

if TYPE_CHECKING:
    from personify.ingest.loader import IngestResult
    from personify.workspace import Workspace

MASK = "•••"


@dataclass(frozen=True)
class QuarantineGroup:
    source: str
    reason: str  # the reason with the bad value left out, so alike rows group together
    rows: int
    first_line: int | None


@dataclass(frozen=True)
class QuarantinedRow:
    source: str
    file: str
    row: int | None
    line: int | None
    columns: list[str]
    reason: str
    record: str  # as it was in the file; personal fields masked unless revealed


@dataclass(frozen=True)
class RetryResult:
    before: dict[str, int]  # quarantined rows per source before the retry
    after: dict[str, int]
    ingest: IngestResult


def _reason_class(reason: str) -> str:
    return re.sub(r", got '.*?'(?=;|$)", "", reason)


def _has_table(workspace: Workspace) -> bool:
    return workspace.ingest_engine.has_table("quarantine")


def summary(workspace: Workspace, *, source: str | None = None) -> list[QuarantineGroup]:
    """Quarantined rows counted by source and reason."""
    if not _has_table(workspace):
        return []
    rows = workspace.ingest_engine.sql(
        """SELECT source, reason, line FROM quarantine
        WHERE ? IS NULL OR source = ? ORDER BY source, line, "row" """,
        [source, source],
    ).fetchall()
    groups: dict[tuple[str, str], list[int | None]] = {}
    for src, reason, line in rows:
        groups.setdefault((src, _reason_class(reason or "")), []).append(line)
    return [
        QuarantineGroup(src, reason, len(lines), next((x for x in lines if x is not None), None))
        for (src, reason), lines in sorted(groups.items(), key=lambda kv: (kv[0][0], -len(kv[1])))
    ]


def rows(
    workspace: Workspace,
    source: str,
    *,
    column: str | None = None,
    limit: int = 20,
    reveal: bool = False,
) -> list[QuarantinedRow]:
    """Examples of one source's quarantined rows, in file order."""
    if source not in workspace.config.sources:
        raise SourceError(f"no source named {source!r} in personify.yaml")
    if not _has_table(workspace):
        return []
    found = workspace.ingest_engine.sql(
        """SELECT source, file, "row", line, columns, reason, record FROM quarantine
        WHERE source = ? AND (? IS NULL OR list_contains(string_split(columns, ','), ?))
        ORDER BY line, "row" LIMIT ?""",
        [source, column, column, limit],
    ).fetchall()
    out = []
    for src, file, row, line, cols, reason, record in found:
        shown = record if reveal else _mask(record or "")
        columns = cols.split(",") if cols else []
        out.append(QuarantinedRow(src, file, row, line, columns, reason, shown))
    return out


def _mask(record: str) -> str:
    """A quarantined record with its personal fields masked (a parser-rejected line whole)."""
    try:
        data = json.loads(record)
    except ValueError:
        return MASK + f" ({len(record)} characters of an unreadable line)"
    if not isinstance(data, dict):
        return MASK
    return json.dumps(
        {k: (MASK if _personal(k) and v not in (None, "") else v) for k, v in data.items()},
        ensure_ascii=False,
    )


def _personal(field: str) -> bool:
    name = field.lower().replace(" ", "_").replace("-", "_")
    return name in PERSONAL_COLUMNS or any(
        word in name for word in ("name", "mail", "phone", "address", "birth", "postcode", "zip")
    )


def retry(workspace: Workspace) -> RetryResult:
    """Load again every source with quarantined rows, under the current mapping and files."""
    before = _counts(workspace)
    names = [n for n, c in before.items() if c and n in workspace.config.sources]
    if not names:
        raise SourceError("nothing is in quarantine")
    result = workspace.ingest.run(sources=names)
    after = _counts(workspace)
    return RetryResult({n: before[n] for n in names}, {n: after.get(n, 0) for n in names}, result)


def _counts(workspace: Workspace) -> dict[str, int]:
    if not _has_table(workspace):
        return {}
    counts = "SELECT source, count(*) FROM quarantine GROUP BY source"
    return dict(workspace.ingest_engine.sql(counts).fetchall())
