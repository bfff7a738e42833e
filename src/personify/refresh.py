"""Refreshes and drift: how the personas of one segment run differ from the run before.

Every segment run and its personas stay in the workspace (``segment_membership`` and
``personas`` keep each run's rows), so two runs can be compared after the fact. Personas are
matched by their members: a persona of the new run continues the old persona with which it
shares the most customers, by Jaccard index (shared / either), when that index is at least
:data:`MATCH_MIN`; ties go to the larger overlap, then the lower segment id. A new persona
with no such match is *new*; an old one no new persona continues has *vanished*. For each
match the report gives the change in size, share, revenue share and average revenue, the
traits that appeared or went, and the themes that appeared or went.

``personify refresh`` runs the pipeline (ingest loads only what changed) and writes the
drift report of the new run against the previous one to ``output/drift.json``; with
``--if-older-than 90d`` it does nothing while the current personas are younger than that.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from personify.workspace import Workspace

MATCH_MIN = 0.3


@dataclass(frozen=True)
class Run:
    segment_run: str
    created_at: dt.datetime
    personas: list[dict[str, Any]]


def runs(ws: Workspace) -> list[Run]:
    """Every persona run in the workspace, newest first."""
    engine = ws.engine
    if not engine.has_table("personas"):
        return []
    rows = engine.sql(
        "SELECT segment_run, max(created_at) FROM personas GROUP BY 1 ORDER BY 2 DESC, 1 DESC"
    ).fetchall()
    out = []
    for run_id, created in rows:
        docs = engine.sql(
            "SELECT document FROM personas WHERE segment_run = ? ORDER BY segment_id", [run_id]
        ).fetchall()
        out.append(Run(str(run_id), created, [json.loads(d[0]) for d in docs]))
    return out


def _overlaps(ws: Workspace, old: str, new: str) -> list[tuple[int, int, int, int, int]]:
    """(new segment, old segment, shared members, new size, old size) for every pair."""
    return [
        (int(a), int(b), int(n), int(na), int(nb))
        for a, b, n, na, nb in ws.engine.sql(
            """WITH n AS (SELECT person_id, segment_id FROM segment_membership WHERE run_id = ?),
            o AS (SELECT person_id, segment_id FROM segment_membership WHERE run_id = ?),
            ns AS (SELECT segment_id, count(*) AS size FROM n GROUP BY 1),
            os AS (SELECT segment_id, count(*) AS size FROM o GROUP BY 1),
            shared AS (SELECT n.segment_id AS a, o.segment_id AS b, count(*) AS k
                       FROM n JOIN o ON n.person_id = o.person_id GROUP BY 1, 2)
            SELECT ns.segment_id, os.segment_id, coalesce(shared.k, 0), ns.size, os.size
            FROM ns CROSS JOIN os
            LEFT JOIN shared ON shared.a = ns.segment_id AND shared.b = os.segment_id
            ORDER BY 1, 2""",
            [new, old],
        ).fetchall()
    ]


def _num(doc: dict[str, Any], *keys: str) -> float | None:
    v: Any = doc
    for k in keys:
        v = v.get(k) if isinstance(v, dict) else None
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _delta(new: float | None, old: float | None) -> float | None:
    return None if new is None or old is None else round(new - old, 6)


def drift(ws: Workspace, new: Run, old: Run) -> dict[str, Any]:
    """The drift report of run ``new`` against run ``old``."""
    by_new = {p["segment_id"]: p for p in new.personas}
    by_old = {p["segment_id"]: p for p in old.personas}
    best: dict[int, tuple[float, int, int]] = {}  # new segment -> (jaccard, shared, old)
    for a, b, k, na, nb in _overlaps(ws, old.segment_run, new.segment_run):
        union = na + nb - k
        jaccard = k / union if union else 0.0
        current = best.get(a)
        candidate = (jaccard, k, -b)
        if current is None or candidate > (current[0], current[1], -current[2]):
            best[a] = (jaccard, k, b)
    matched: list[dict[str, Any]] = []
    new_personas: list[dict[str, Any]] = []
    continued: set[int] = set()
    for sid, p in sorted(by_new.items()):
        found = best.get(sid)
        if found is None or found[0] < MATCH_MIN or found[2] not in by_old:
            new_personas.append(_ref(p))
            continue
        jaccard, shared, old_sid = found
        q = by_old[old_sid]
        continued.add(old_sid)
        traits_new = {t.get("feature"): t.get("text") for t in p.get("traits", [])}
        traits_old = {t.get("feature"): t.get("text") for t in q.get("traits", [])}
        themes_new = {t.get("term") for t in p.get("themes", [])}
        themes_old = {t.get("term") for t in q.get("themes", [])}
        matched.append(
            {
                "persona": _ref(p),
                "previous": _ref(q),
                "jaccard": round(jaccard, 4),
                "shared_customers": shared,
                "customers": {
                    "before": _num(q, "size", "customers"),
                    "after": _num(p, "size", "customers"),
                    "change": _delta(_num(p, "size", "customers"), _num(q, "size", "customers")),
                },
                "share_change": _delta(_num(p, "size", "share"), _num(q, "size", "share")),
                "revenue_share_change": _delta(
                    _num(p, "value", "revenue_share"), _num(q, "value", "revenue_share")
                ),
                "avg_revenue_change": _delta(
                    _num(p, "value", "avg_revenue"), _num(q, "value", "avg_revenue")
                ),
                "traits_added": [traits_new[f] for f in traits_new if f not in traits_old],
                "traits_gone": [traits_old[f] for f in traits_old if f not in traits_new],
                "themes_added": sorted(t for t in themes_new - themes_old if t),
                "themes_gone": sorted(t for t in themes_old - themes_new if t),
            }
        )
    vanished = [_ref(q) for sid, q in sorted(by_old.items()) if sid not in continued]
    return {
        "segment_run": new.segment_run,
        "previous_run": old.segment_run,
        "refreshed_at": new.created_at.isoformat(sep=" "),
        "previous_at": old.created_at.isoformat(sep=" "),
        "match_min_jaccard": MATCH_MIN,
        "matched": matched,
        "new": new_personas,
        "vanished": vanished,
    }


def _ref(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "segment_id": p.get("segment_id"),
        "slug": p.get("slug"),
        "name": p.get("name"),
        "title": p.get("title"),
        "customers": _num(p, "size", "customers"),
    }


def carried_names(ws: Workspace, run_id: str) -> dict[int, str]:
    """For the segments of run ``run_id``: the name of the persona each continues in the
    latest other run (one to one, strongest overlap first, Jaccard at least MATCH_MIN), so
    a persona keeps its name across refreshes while it persists."""
    engine = ws.engine
    if not (engine.has_table("personas") and engine.has_table("segment_membership")):
        return {}
    previous = engine.sql(
        "SELECT segment_run FROM personas WHERE segment_run <> ? GROUP BY segment_run "
        "ORDER BY max(created_at) DESC, segment_run DESC LIMIT 1",
        [run_id],
    ).fetchall()
    if not previous:
        return {}
    old = str(previous[0][0])
    names = {
        int(sid): str(name)
        for sid, name in engine.sql(
            "SELECT segment_id, name FROM personas WHERE segment_run = ?", [old]
        ).fetchall()
    }
    pairs = sorted(
        ((k / (na + nb - k), k, -a, -b) for a, b, k, na, nb in _overlaps(ws, old, run_id) if k),
        reverse=True,
    )
    out: dict[int, str] = {}
    used: set[int] = set()
    for jaccard, _k, neg_a, neg_b in pairs:
        a, b = -neg_a, -neg_b
        if jaccard < MATCH_MIN:
            break
        if a in out or b in used or b not in names:
            continue
        out[a] = names[b]
        used.add(b)
    return out


def latest_drift(ws: Workspace) -> dict[str, Any] | None:
    """The current run against the one before it, or None with fewer than two runs."""
    found = runs(ws)
    return drift(ws, found[0], found[1]) if len(found) >= 2 else None


def age(ws: Workspace, now: dt.datetime | None = None) -> dt.timedelta | None:
    """How old the current personas are (None: there are none)."""
    found = runs(ws)
    if not found:
        return None
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return now - found[0].created_at
