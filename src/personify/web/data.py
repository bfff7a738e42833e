"""What the web app reads from the workspace, and how.

Personas and segment aggregates are small: they are read into a :class:`Snapshot` that
pages are rendered from, reloaded when the database files change (looked at no more than
once a second). The database is opened read-only and only for the reload or a lookup, so a
pipeline run in another process is never blocked for longer than one read, and while a run
holds the database the app keeps serving the last snapshot (a 360 lookup then answers 503).

Aggregates shown to viewers suppress any count below :data:`MIN_CELL` (k-anonymity of each
shown value: a cell of 2 customers says too much about them).
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from personify import refresh
from personify.config import CONFIG_FILE, load_config
from personify.errors import PersonifyError, StageError, WorkspaceError
from personify.workspace import Workspace

log = logging.getLogger(__name__)

MIN_CELL = 5
RAW_ROWS_PER_SOURCE = 20


class Busy(PersonifyError):
    """The database is held by another process (a pipeline run): try again later."""


def _clean(value: Any) -> Any:
    """JSON-safe values: NaN/inf as None, dates and timestamps as ISO text."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        try:
            return value.isoformat()
        except ValueError:  # NaT
            return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return _clean(value.tolist())
    return value


@dataclass(frozen=True)
class Snapshot:
    run_id: str | None
    refreshed_at: str | None
    personas: list[dict[str, Any]]
    segments: list[dict[str, Any]]
    distributions: dict[str, list[dict[str, Any]]]  # column -> rows of segment x value
    customers: int
    currency: str | None
    language: str
    loaded_at: float = field(default_factory=time.time)
    history: list[dict[str, Any]] = field(default_factory=list)  # runs, newest first
    drift: dict[str, Any] | None = None  # the current run against the one before
    pictures: dict[str, str] = field(default_factory=dict)  # slug -> inherited picture seed
    lines: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # slug -> its history

    @property
    def by_slug(self) -> dict[str, dict[str, Any]]:
        return {p["slug"]: p for p in self.personas}

    def persona(self, slug: str) -> dict[str, Any] | None:
        for p in self.personas:
            if p["slug"] == slug:
                return p
        return None


_DISTRIBUTIONS = ("lifecycle_stage", "engagement_level", "gender", "main_device")


class WorkspaceData:
    def __init__(self, workspace: str | Path) -> None:
        self.path = Path(workspace)
        self.config = load_config(self.path / CONFIG_FILE)
        self._database = self._resolve(self.config.database)
        self._snapshot: Snapshot | None = None
        self._stamp: tuple[Any, ...] | None = None
        self._checked = -1.0
        self._lock = threading.Lock()

    def _resolve(self, relative: str) -> Path:
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self.path / p

    # -- opening -------------------------------------------------------------------------
    @contextmanager
    def reader(self) -> Iterator[Workspace]:
        """The workspace opened for reading (read-only on DuckDB), closed afterwards."""
        try:
            ws = Workspace(self.path, read_only=True)
            _ = ws.engine
        except WorkspaceError as exc:
            if "lock" in str(exc).lower():
                raise Busy("the workspace is being updated (a pipeline run): retry soon") from None
            raise
        try:
            yield ws
        finally:
            ws.close()

    def _files_stamp(self) -> tuple[Any, ...]:
        out: list[Any] = []
        for p in (self._database, self._database.with_name(self._database.name + ".wal")):
            try:
                st = p.stat()
                out.append((st.st_mtime_ns, st.st_size))
            except FileNotFoundError:
                out.append(None)
        return tuple(out)

    # -- the snapshot --------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        now = time.monotonic()
        if self._snapshot is not None and now - self._checked < 1.0:
            return self._snapshot
        with self._lock:
            now = time.monotonic()
            if self._snapshot is not None and now - self._checked < 1.0:
                return self._snapshot
            stamp = self._files_stamp()
            if self._snapshot is None or stamp != self._stamp:
                try:
                    self._snapshot = self._load()
                    self._stamp = stamp
                except Busy:
                    if self._snapshot is None:
                        raise
                    log.info("workspace busy: serving the previous snapshot")
            self._checked = now
            return self._snapshot

    def _load(self) -> Snapshot:
        locale = self.config.locale
        currency = getattr(locale, "currency", None)
        language = str(getattr(locale, "language", None) or "en")
        if not self._database.exists() and self.config.engine.kind == "duckdb":
            return Snapshot(None, None, [], [], {}, 0, currency, language)
        with self.reader() as ws:
            engine = ws.engine
            if not engine.has_table("personas"):
                return Snapshot(None, None, [], [], {}, 0, currency, language)
            latest = engine.sql(
                "SELECT segment_run, max(created_at) FROM personas GROUP BY segment_run "
                "ORDER BY 2 DESC, 1 DESC LIMIT 1"
            ).fetchall()
            if not latest:
                return Snapshot(None, None, [], [], {}, 0, currency, language)
            run_id, created = str(latest[0][0]), latest[0][1]
            rows = engine.sql(
                "SELECT document FROM personas WHERE segment_run = ? ORDER BY negative, segment_id",
                [run_id],
            ).fetchall()
            personas = [json.loads(r[0]) if isinstance(r[0], str) else r[0] for r in rows]
            segments: list[dict[str, Any]] = []
            if engine.has_table("segments"):
                df = engine.fetch_df(
                    "SELECT * FROM segments WHERE run_id = ? ORDER BY segment_id", [run_id]
                )
                segments = [_clean(r) for r in df.to_dict("records")]
            by_segment = {p["segment_id"]: p for p in personas}
            for s in segments:
                p = by_segment.get(s["segment_id"])
                s["persona"] = (
                    {"slug": p["slug"], "name": p["name"], "title": p["title"]} if p else None
                )
            distributions = self._distributions(ws, run_id)
            customers = int(sum(int(s.get("size") or 0) for s in segments))
            found = refresh.runs(ws)
            history = [
                {
                    "segment_run": r.segment_run,
                    "created_at": r.created_at.isoformat(sep=" "),
                    "personas": [
                        {"slug": p.get("slug"), "name": p.get("name"), "title": p.get("title")}
                        for p in r.personas
                    ],
                }
                for r in found
            ]
            drift = (
                _clean(refresh.drift(ws, found[0], found[1]))
                if len(found) >= 2 and engine.has_table("segment_membership")
                else None
            )
            pictures = refresh.pictures(ws, run_id)
            lines = _clean(refresh.lines(ws, run_id))
        return Snapshot(
            run_id,
            created.isoformat(sep=" ") + " UTC" if hasattr(created, "isoformat") else str(created),
            [_clean(p) for p in personas],
            segments,
            distributions,
            customers,
            currency,
            language,
            history=history,
            drift=drift,
            pictures=pictures,
            lines=lines,
        )

    @staticmethod
    def _distributions(ws: Workspace, run_id: str) -> dict[str, list[dict[str, Any]]]:
        engine = ws.engine
        if not (engine.has_table("profiles") and engine.has_table("segment_membership")):
            return {}
        have = set(engine.columns("profiles"))
        out: dict[str, list[dict[str, Any]]] = {}
        for column in _DISTRIBUTIONS:
            if column not in have:
                continue
            rows = engine.sql(
                f"""SELECT m.segment_id, coalesce(CAST(p.{column} AS VARCHAR), '(none)') AS v,
                count(*) AS n
                FROM segment_membership m JOIN profiles p ON p.person_id = m.person_id
                WHERE m.run_id = ? GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2""",
                [run_id],
            ).fetchall()
            if rows:
                out[column] = [
                    {
                        "segment_id": int(s),
                        "value": str(v),
                        "count": int(n) if n >= MIN_CELL else None,
                    }
                    for s, v, n in rows
                ]
        return out

    # -- audiences (analysts) --------------------------------------------------------------
    def audience(self, rule: str) -> dict[str, Any]:
        """A rule's count and aggregate figures (segments/audiences.py), or its error with
        the position: ``{"error": {rule, position, reason}}``."""
        with self.reader() as ws:
            if not ws.engine.has_table("profiles"):
                return {"error": {"rule": rule, "position": 0, "reason": "no profiles yet"}}
            error = ws.audiences.validate(rule)
            if error is not None:
                return {"error": error}
            summary = ws.audiences.summary(rule)
        count = summary.count
        return {
            "rule": rule,
            "persons": count.persons,
            "total": count.total,
            "share": count.share,
            "suppressed": summary.suppressed,
            "figures": [] if summary.suppressed else [_clean(vars(f)) for f in summary.figures],
        }

    # -- one customer (analysts) ---------------------------------------------------------
    def customer(self, identifier: str) -> dict[str, Any] | None:
        """The 360 view of one person (by person id, record id, SOURCE:RECORD_ID or e-mail),
        or None when nothing matches."""
        from personify.identity._normalise import install_macros
        from personify.identity.explain import explain
        from personify.ingest.kinds import KINDS

        snap = self.snapshot()
        with self.reader() as ws:
            engine = ws.engine
            if not engine.has_table("identity_links"):
                return None
            identifier = identifier.strip()
            if "@" in identifier and ":" not in identifier:
                install_macros(engine)  # the identity stage's own e-mail normaliser
                found = engine.scalar(
                    "SELECT min(person_id) FROM identity_graph WHERE id_type = 'email' "
                    "AND id_value = norm_email(?) AND NOT is_hub",
                    [identifier],
                )
                if found is None:
                    return None
                identifier = str(found)
            try:
                e = explain(ws, identifier)
            except StageError as exc:
                if str(exc).startswith("no person"):
                    return None
                raise
            person = e.person_id
            golden: dict[str, Any] = {}
            if engine.has_table("golden_record"):
                df = engine.fetch_df("SELECT * FROM golden_record WHERE person_id = ?", [person])
                golden = _clean(df.to_dict("records")[0]) if len(df) else {}
            profile: dict[str, Any] = {}
            if engine.has_table("profiles"):
                df = engine.fetch_df("SELECT * FROM profiles WHERE person_id = ?", [person])
                profile = _clean(df.to_dict("records")[0]) if len(df) else {}
            segment = None
            if snap.run_id and engine.has_table("segment_membership"):
                sid = engine.scalar(
                    "SELECT segment_id FROM segment_membership WHERE run_id = ? AND person_id = ?",
                    [snap.run_id, person],
                )
                if sid is not None:
                    p = next((p for p in snap.personas if p["segment_id"] == sid), None)
                    segment = {
                        "segment_id": int(sid),
                        "persona": {"slug": p["slug"], "name": p["name"], "title": p["title"]}
                        if p
                        else None,
                    }
            records: dict[str, list[dict[str, Any]]] = {}
            ids_by_source: dict[str, list[str]] = {}
            for link in e.links:
                ids_by_source.setdefault(str(link["source"]), []).append(str(link["record_id"]))
            sources = ws.config.sources
            tables = set(engine.list_tables())
            for source, ids in ids_by_source.items():
                spec = sources.get(source)
                kind = KINDS.get(spec.kind) if spec else None
                table = f"raw_{source}"
                if kind is None or kind.record_id is None or table not in tables:
                    continue
                if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", source):
                    continue
                placeholders = ", ".join("?" for _ in ids[:RAW_ROWS_PER_SOURCE])
                df = engine.fetch_df(
                    f'SELECT * FROM "{table}" WHERE CAST("{kind.record_id}" AS VARCHAR) '
                    f"IN ({placeholders}) LIMIT {RAW_ROWS_PER_SOURCE}",
                    ids[:RAW_ROWS_PER_SOURCE],
                )
                keep = [c for c in df.columns if not str(c).startswith("_")]
                records[source] = [_clean(r) for r in df[keep].to_dict("records")]
            texts: list[dict[str, Any]] = []
            if engine.has_table("voice_texts"):
                df = engine.fetch_df(
                    "SELECT source, kind, date, theme, sentiment, text FROM voice_texts "
                    "WHERE person_id = ? ORDER BY date DESC NULLS LAST LIMIT 20",
                    [person],
                )
                texts = [_clean(r) for r in df.to_dict("records")]
        return {
            "person_id": person,
            "records": e.records,
            "sources": e.sources,
            "golden_record": golden,
            "segment": segment,
            "profile": profile,
            "links": [_clean(x) for x in e.links],
            "identifiers": [_clean(x) for x in e.identifiers],
            "model_links": [_clean(x) for x in e.model_links],
            "source_records": records,
            "texts": texts,
        }


def search_personas(snapshot: Snapshot, query: str) -> list[dict[str, Any]]:
    """Personas whose name, title, description, tagline, traits or themes hold every word."""
    words = [w for w in query.lower().split() if w]
    if not words:
        return []
    hits = []
    for p in snapshot.personas:
        haystack = " ".join(
            [
                str(p.get("name", "")),
                str(p.get("title", "")),
                str(p.get("description", "")),
                str(p.get("tagline", "")),
                *(
                    str(t.get("label", "")) + " " + str(t.get("text", ""))
                    for t in p.get("traits", [])
                ),
                *(str(t.get("term", "")) for t in p.get("themes", [])),
                *(str(c.get("category", "")) for c in p.get("categories", [])),
            ]
        ).lower()
        if all(w in haystack for w in words):
            hits.append(p)
    return hits
