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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    from personify.workspace import Workspace

MATCH_MIN = 0.3
WINDOW_DAYS = 92  # a quarter: the recent channel mix compares the last two of them
SHARE_SHIFT = 0.03  # a persona "grew" / "shrank" when its share of customers moved this much
# A channel's share of the recent purchases moved this much (3.5 standard errors of the
# difference of two shares of 50% over 100 purchases each: noise rarely gets there).
CHANNEL_SHIFT = 0.25
MIN_PURCHASES = 50  # per window, for the recent channel mix to name a change


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


@dataclass(frozen=True)
class Match:
    """A segment of the new run continues segment ``old`` of the previous one."""

    old: int
    jaccard: float
    shared: int
    distance: float | None  # of the centroids, in standard deviations (segments/compare.py)


def matching(ws: Workspace, old: str, new: str) -> dict[int, Match]:
    """For the segments of run ``new``: the segment of run ``old`` each continues.

    The one-to-one matching of segments/compare.py (the Hungarian algorithm on member
    overlap, Jaccard, with the centroid distance breaking ties; by centroids alone when the
    runs share under half their persons), keeping pairs whose Jaccard is at least MATCH_MIN
    (or, matched by centroids, that compare.py keeps). A workspace without the segment runs
    that compare.py reads (a hand-made one) is matched one to one on overlap alone, the
    strongest pair first."""
    from personify.errors import PersonifyError

    overlaps = _overlaps(ws, old, new)
    stats = {(a, b): (k, na + nb - k) for a, b, k, na, nb in overlaps}

    def jaccard(a: int, b: int) -> tuple[float, int]:
        k, union = stats.get((a, b), (0, 0))
        return (k / union if union else 0.0), k

    out: dict[int, Match] = {}
    engine = ws.engine
    if engine.has_table("segment_runs") and engine.has_table("profiles"):
        from personify.segments.compare import compare_runs

        try:
            c = compare_runs(ws, old, new)
        except PersonifyError:
            c = None
        if c is not None:
            for b, a in c.matching:  # compare_runs(old, new): pairs are (old, new)
                j, k = jaccard(a, b)
                if c.basis == "membership" and j < MATCH_MIN:
                    continue
                out[a] = Match(b, j, k, c.distance.get((b, a)))
            return out
    pairs = sorted(
        ((k / union, k, -a, -b) for (a, b), (k, union) in stats.items() if k and union),
        reverse=True,
    )
    used: set[int] = set()
    for j, k, neg_a, neg_b in pairs:
        a, b = -neg_a, -neg_b
        if j < MATCH_MIN:
            break
        if a in out or b in used:
            continue
        out[a] = Match(b, j, k, None)
        used.add(b)
    return out


def drift(ws: Workspace, new: Run, old: Run) -> dict[str, Any]:
    """The drift report of run ``new`` against run ``old``."""
    by_new = {p["segment_id"]: p for p in new.personas}
    by_old = {p["segment_id"]: p for p in old.personas}
    found_matches = matching(ws, old.segment_run, new.segment_run)
    matched: list[dict[str, Any]] = []
    new_personas: list[dict[str, Any]] = []
    continued: set[int] = set()
    newcomers = _newcomers(ws, old.segment_run, new.segment_run)
    recent = _recent_channels(ws, new.segment_run)
    for sid, p in sorted(by_new.items()):
        found = found_matches.get(sid)
        if found is None or found.old not in by_old:
            new_personas.append(_ref(p))
            continue
        jaccard, shared, old_sid = found.jaccard, found.shared, found.old
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
                "centroid_distance": None if found.distance is None else round(found.distance, 4),
                "customers": {
                    "before": _num(q, "size", "customers"),
                    "after": _num(p, "size", "customers"),
                    "change": _delta(_num(p, "size", "customers"), _num(q, "size", "customers")),
                },
                "share_change": _delta(_num(p, "size", "share"), _num(q, "size", "share")),
                "revenue_share": {
                    "before": _num(q, "value", "revenue_share"),
                    "after": _num(p, "value", "revenue_share"),
                },
                "avg_revenue": {
                    "before": _num(q, "value", "avg_revenue"),
                    "after": _num(p, "value", "avg_revenue"),
                },
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
                "newcomers": newcomers.get(sid, 0),
                "channels": _channel_change(p, q),
                "recent_channels": recent.get(sid),
            }
        )
        matched[-1]["changes"] = _named_changes(matched[-1])
    vanished = [_ref(q) for sid, q in sorted(by_old.items()) if sid not in continued]
    return {
        "segment_run": new.segment_run,
        "previous_run": old.segment_run,
        "refreshed_at": new.created_at.isoformat(sep=" "),
        "previous_at": old.created_at.isoformat(sep=" "),
        "match_min_jaccard": MATCH_MIN,
        "thresholds": {
            "share_points": SHARE_SHIFT,
            "recent_channel_points": CHANNEL_SHIFT,
            "window_days": WINDOW_DAYS,
            "min_purchases": MIN_PURCHASES,
        },
        "matched": matched,
        "new": new_personas,
        "vanished": vanished,
    }


def _shares(doc: dict[str, Any]) -> dict[str, float]:
    out = {}
    for c in doc.get("channels") or []:
        if isinstance(c, dict) and isinstance(c.get("share"), int | float):
            out[str(c.get("channel"))] = float(c["share"])
    return out


def _channel_change(p: dict[str, Any], q: dict[str, Any]) -> list[dict[str, Any]]:
    """The persona's channel mix (its members' mean share of purchases per channel, over
    their whole history, as the card shows it) before and after."""
    new, old = _shares(p), _shares(q)
    return [
        {
            "channel": c,
            "before": old.get(c),
            "after": new.get(c),
            "change": _delta(new.get(c), old.get(c)),
        }
        for c in sorted(set(new) | set(old))
    ]


def _newcomers(ws: Workspace, old: str, new: str) -> dict[int, int]:
    """Members of each new segment who were in no segment of the old run."""
    rows = ws.engine.sql(
        """SELECT n.segment_id, count(*) FROM segment_membership n
        WHERE n.run_id = ? AND n.segment_id IS NOT NULL AND NOT EXISTS (
          SELECT 1 FROM segment_membership o WHERE o.run_id = ? AND o.person_id = n.person_id
            AND o.segment_id IS NOT NULL)
        GROUP BY 1""",
        [new, old],
    ).fetchall()
    return {int(a): int(b) for a, b in rows}


def _recent_channels(ws: Workspace, run_id: str) -> dict[int, dict[str, Any]]:
    """Per segment of ``run_id``: the channel mix of its members' purchases in the last
    WINDOW_DAYS before the data's reference date and in the WINDOW_DAYS before those (what
    changed in the latest quarter, which the whole-history mix of a card dilutes)."""
    engine = ws.engine
    if not engine.has_table("identity_links") or not engine.has_table("segment_membership"):
        return {}
    builder = ws.profiles
    purchases = builder._purchases()  # the profiles stage's own view of every purchase
    if purchases is None:
        return {}
    as_of = builder.as_of()
    w = int(WINDOW_DAYS)
    rows = engine.sql(
        f"""WITH p AS ({purchases}),
        m AS (SELECT person_id, segment_id FROM segment_membership
              WHERE run_id = ? AND segment_id IS NOT NULL),
        x AS (SELECT m.segment_id, p.channel,
                CASE WHEN p.ts >= TIMESTAMP '{as_of}' - INTERVAL {w} DAY THEN 'after'
                     ELSE 'before' END AS win
              FROM p JOIN m ON m.person_id = p.person_id
              WHERE p.channel IS NOT NULL AND p.ts < TIMESTAMP '{as_of}'
                AND p.ts >= TIMESTAMP '{as_of}' - INTERVAL {2 * w} DAY)
        SELECT segment_id, win, channel, count(*) FROM x GROUP BY ALL ORDER BY ALL""",
        [run_id],
    ).fetchall()
    counts: dict[int, dict[str, dict[str, int]]] = {}
    for sid, win, channel, n in rows:
        counts.setdefault(int(sid), {"before": {}, "after": {}})[str(win)][str(channel)] = int(n)
    end = dt.date.fromisoformat(str(as_of))
    out: dict[int, dict[str, Any]] = {}
    for sid, wins in counts.items():
        entry: dict[str, Any] = {
            "windows": {
                "before": [
                    str(end - dt.timedelta(days=2 * w)),
                    str(end - dt.timedelta(days=w + 1)),
                ],
                "after": [str(end - dt.timedelta(days=w)), str(end - dt.timedelta(days=1))],
            }
        }
        for win in ("before", "after"):
            total = sum(wins[win].values())
            entry[win] = {
                "purchases": total,
                "shares": {c: round(n / total, 4) for c, n in sorted(wins[win].items())}
                if total
                else {},
            }
        out[sid] = entry
    return out


def _named_changes(m: dict[str, Any]) -> list[dict[str, Any]]:
    """What a reader should notice, by the thresholds in the report: the persona grew or
    shrank (its share of customers moved SHARE_SHIFT or more) and each channel whose share
    of the recent purchases moved CHANNEL_SHIFT or more (both windows with MIN_PURCHASES)."""
    out: list[dict[str, Any]] = []
    share = m.get("share_change")
    if share is not None and abs(share) >= SHARE_SHIFT:
        out.append(
            {
                "kind": "grew" if share > 0 else "shrank",
                "share_change": share,
                "customers": m["customers"],
                "newcomers": m.get("newcomers", 0),
            }
        )
    recent = m.get("recent_channels")
    if recent and min(recent["before"]["purchases"], recent["after"]["purchases"]) >= MIN_PURCHASES:
        before, after = recent["before"]["shares"], recent["after"]["shares"]
        moves = {c: after.get(c, 0.0) - before.get(c, 0.0) for c in set(before) | set(after)}
        for c, d in sorted(moves.items(), key=lambda kv: -abs(kv[1])):
            if abs(d) >= CHANNEL_SHIFT:
                out.append(
                    {
                        "kind": "channel",
                        "channel": c,
                        "before": before.get(c, 0.0),
                        "after": after.get(c, 0.0),
                        "change": round(d, 4),
                    }
                )
    return out


def _ref(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "segment_id": p.get("segment_id"),
        "slug": p.get("slug"),
        "name": p.get("name"),
        "title": p.get("title"),
        "customers": _num(p, "size", "customers"),
        "revenue_share": _num(p, "value", "revenue_share"),
    }


def drift_svg(report: dict[str, Any]) -> str:
    """The drift report as a chart (SVG, Matplotlib): customers and share of revenue of
    every persona before and after (new personas start at 0, vanished ones end at 0).
    Text is SVG text that Matplotlib escapes, never parsed as mathtext; no script."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    rows: list[tuple[str, float, float, float, float]] = []  # label, customers, revenue share
    for m in report.get("matched", []):
        c, r = m.get("customers") or {}, m.get("revenue_share") or {}
        rows.append(
            (
                str(m["persona"].get("name") or ""),
                c.get("before") or 0.0,
                c.get("after") or 0.0,
                r.get("before") or 0.0,
                r.get("after") or 0.0,
            )
        )
    for p in report.get("new", []):
        rows.append((f"{p.get('name') or ''} (new)", 0.0, p.get("customers") or 0.0, 0.0,
                     p.get("revenue_share") or 0.0))  # fmt: skip
    for p in report.get("vanished", []):
        rows.append((f"{p.get('name') or ''} (vanished)", p.get("customers") or 0.0, 0.0,
                     p.get("revenue_share") or 0.0, 0.0))  # fmt: skip
    with matplotlib.rc_context({"svg.fonttype": "none", "font.size": 9, "svg.hashsalt": "drift"}):
        height = 1.2 + 0.42 * max(len(rows), 1)
        fig = Figure(figsize=(8.0, height))
        axes = fig.subplots(1, 2, sharey=True)
        y = list(range(len(rows)))
        for ax, (before, after, label, fmt) in zip(
            axes,
            ((1, 2, "Customers", "{:,.0f}"), (3, 4, "Share of revenue", "{:.0%}")),
            strict=True,
        ):
            ax.barh([v - 0.2 for v in y], [r[before] for r in rows], height=0.38,
                    color="#b8c4d6", label="previous run")  # fmt: skip
            ax.barh([v + 0.2 for v in y], [r[after] for r in rows], height=0.38,
                    color="#2f5d8a", label="this run")  # fmt: skip
            for v, r in zip(y, rows, strict=True):
                ax.text(r[after], v + 0.2, " " + fmt.format(r[after]), va="center",
                        fontsize=8, parse_math=False)  # fmt: skip
            ax.set_title(label, fontsize=10)
            ax.spines[["top", "right"]].set_visible(False)
            ax.margins(x=0.18)
        axes[0].set_yticks(y, [r[0] for r in rows])
        for t in axes[0].get_yticklabels():
            t.set_parse_math(False)
        axes[0].invert_yaxis()
        axes[1].legend(loc="lower right", fontsize=8, frameon=False)
        fig.tight_layout()
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def carried_names(ws: Workspace, run_id: str) -> dict[int, str]:
    """For the segments of run ``run_id``: the name of the persona each continues in the
    latest other run (:func:`matching`), so a persona keeps its name across refreshes while
    it persists. It also records, in ``persona_pictures``, the picture each continuing
    persona inherits (its predecessor's, which is the slug its line began with), so the
    picture stays when the title changes (:func:`pictures`)."""
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
    rows = engine.sql(
        "SELECT segment_id, name, slug FROM personas WHERE segment_run = ?", [old]
    ).fetchall()
    names = {int(sid): str(name) for sid, name, _slug in rows}
    inherited = pictures(ws, old)
    seeds = {int(sid): inherited.get(str(slug), str(slug)) for sid, _name, slug in rows}
    out: dict[int, str] = {}
    carried: list[tuple[int, str, int]] = []
    for a, m in sorted(matching(ws, old, run_id).items()):
        if m.old in names:
            out[a] = names[m.old]
            carried.append((a, seeds[m.old], m.old))
    table = pa.table(
        {
            "segment_run": pa.array([run_id] * len(carried), pa.string()),
            "segment_id": pa.array([c[0] for c in carried], pa.int32()),
            "picture": pa.array([c[1] for c in carried], pa.string()),
            "previous_run": pa.array([old] * len(carried), pa.string()),
            "previous_segment": pa.array([c[2] for c in carried], pa.int32()),
        }
    )
    if engine.has_table("persona_pictures") and "previous_run" not in engine.columns(
        "persona_pictures"
    ):
        engine.drop_table("persona_pictures")  # the first form of the table, without lines
    if not engine.has_table("persona_pictures"):
        engine.create_table(
            "persona_pictures",
            "SELECT CAST(NULL AS STRING) AS segment_run, CAST(NULL AS INTEGER) AS segment_id, "
            "CAST(NULL AS STRING) AS picture, CAST(NULL AS STRING) AS previous_run, "
            "CAST(NULL AS INTEGER) AS previous_segment WHERE 1 = 0",
        )
    engine.delete_rows("persona_pictures", "segment_run = ?", [run_id])
    if carried:
        engine.append_arrow("persona_pictures", table)
    return out


def pictures(ws: Workspace, run_id: str) -> dict[str, str]:
    """Slug -> the seed of its picture, for the personas of ``run_id`` that inherited one
    (the others are drawn from their own slug)."""
    engine = ws.engine
    if not (engine.has_table("persona_pictures") and engine.has_table("personas")):
        return {}
    return {
        str(slug): str(seed)
        for slug, seed in engine.sql(
            """SELECT p.slug, pp.picture FROM persona_pictures pp JOIN personas p
            ON p.segment_run = pp.segment_run AND p.segment_id = pp.segment_id
            WHERE pp.segment_run = ?""",
            [run_id],
        ).fetchall()
    }


def lines(ws: Workspace, run_id: str) -> dict[str, list[dict[str, Any]]]:
    """Slug of each persona of ``run_id`` -> its history, newest first: the persona in each
    earlier run it continues (as :func:`carried_names` recorded it), with name, title,
    customers and share of revenue."""
    engine = ws.engine
    if not engine.has_table("personas"):
        return {}
    docs: dict[tuple[str, int], dict[str, Any]] = {}
    for run, sid, created, document in engine.sql(
        "SELECT segment_run, segment_id, created_at, document FROM personas"
    ).fetchall():
        d = json.loads(document) if isinstance(document, str) else document
        docs[(str(run), int(sid))] = {
            "segment_run": str(run),
            "created_at": created.isoformat(sep=" ")
            if hasattr(created, "isoformat")
            else str(created),
            **_ref(d),
        }
    back: dict[tuple[str, int], tuple[str, int]] = {}
    if engine.has_table("persona_pictures") and "previous_run" in engine.columns(
        "persona_pictures"
    ):
        for run, sid, prun, psid in engine.sql(
            "SELECT segment_run, segment_id, previous_run, previous_segment FROM persona_pictures"
        ).fetchall():
            if prun is not None and psid is not None:
                back[(str(run), int(sid))] = (str(prun), int(psid))
    out: dict[str, list[dict[str, Any]]] = {}
    for (run, sid), ref in docs.items():
        if run != run_id:
            continue
        chain, key, seen = [ref], back.get((run, sid)), {(run, sid)}
        while key is not None and key in docs and key not in seen:
            chain.append(docs[key])
            seen.add(key)
            key = back.get(key)
        out[str(ref["slug"])] = chain
    return out


def pin_k(ws: Workspace) -> int | None:
    """Keep the number of segments of the current personas for this refresh (returned),
    unless the configuration fixes ``segments.k``: a new quarter of data then re-fits the
    same number of personas, so they can persist, instead of choosing k afresh."""
    settings = ws.config.segments
    if settings.k != "auto":
        return None
    found = runs(ws)
    if not found or not ws.engine.has_table("segment_runs"):
        return None
    rows = ws.engine.sql(
        "SELECT k FROM segment_runs WHERE run_id = ?", [found[0].segment_run]
    ).fetchall()
    if not rows or rows[0][0] is None:
        return None
    k = rows[0][0]
    ws.config = ws.config.model_copy(update={"segments": settings.model_copy(update={"k": int(k)})})
    return int(k)


def write_latest(ws: Workspace) -> tuple[dict[str, Any] | None, Path]:
    """Write the latest drift report to ``output/drift.json`` (nothing with one run)."""
    report = latest_drift(ws)
    out = ws.output_dir / "drift.json"
    if report is not None:
        out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        out.with_suffix(".svg").write_text(drift_svg(report), encoding="utf-8")
    return report, out


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
