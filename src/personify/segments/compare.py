"""Compare two segmentation runs: which segments persist, split, merge, vanish or are new.

Segments are matched by the persons they share. For segments ``A`` (of the first run) and
``B`` (of the second):

- Jaccard ``|A ∩ B| / |A ∪ B|``, and the one-to-one matching of the two runs' segments
  that maximises the total Jaccard (the Hungarian algorithm, scipy's
  ``linear_sum_assignment``), with the distance of their centroids (the root mean square
  of the differences of their mean inputs, each in standard deviations over both runs'
  persons; inputs as in segments/_runs.py) to break ties;
- the transitions of MONIC (Spiliopoulou et al., "MONIC: modeling and monitoring cluster
  transitions", KDD 2006), on the share of ``A``'s persons found in ``B``: ``A``
  *survives* as the ``B`` that holds at least half of them; it *splits* when no ``B``
  does but two or more that each hold at least a fifth hold half together; otherwise it
  *vanishes*. Two or more ``A`` surviving as one ``B`` *merge*; one ``A`` surviving alone
  *persists*; a ``B`` that no ``A`` survives or splits into is *new*.

When the two runs share fewer than half the persons of the smaller (runs on different
data), membership says nothing: segments are then matched by centroid distance alone,
pairs closer than ``MAX_CENTROID_DISTANCE`` persist and the rest vanish or are new (no
splits or merges can be told).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from scipy.optimize import linear_sum_assignment

from personify.errors import StageError
from personify.segments._runs import Input, inputs, resolve_run, select_inputs

if TYPE_CHECKING:
    from personify.workspace import Workspace

SURVIVE = 0.5  # share of A's persons in one B for A to survive as B
SPLIT_PART = 0.2  # share of A's persons in each part of a split
MIN_SHARED = 0.5  # persons both runs hold, of the smaller run's, to match by membership
MAX_CENTROID_DISTANCE = 0.5  # in standard deviations (RMS over inputs), by centroids alone
Event = Literal["persist", "split", "merge", "vanish", "new"]


@dataclass(frozen=True)
class SegmentFigures:
    segment_id: int
    size: int
    revenue_share: float | None
    avg_revenue: float | None


@dataclass(frozen=True)
class Transition:
    """One event: ``before`` segments of run A become ``after`` segments of run B."""

    event: Event
    before: tuple[int, ...]
    after: tuple[int, ...]
    jaccard: float | None  # persist: of the pair; split/merge: of the largest part
    distance: float | None  # centroid distance of the pair (persist) or largest part
    size_before: int
    size_after: int
    avg_revenue_before: float | None
    avg_revenue_after: float | None


@dataclass(frozen=True)
class Comparison:
    run_a: str
    run_b: str
    basis: Literal["membership", "centroids"]
    shared_persons: int
    persons_a: int
    persons_b: int
    segments_a: dict[int, SegmentFigures]
    segments_b: dict[int, SegmentFigures]
    jaccard: dict[tuple[int, int], float]  # every pair sharing persons
    overlap: dict[tuple[int, int], int]
    distance: dict[tuple[int, int], float]  # every pair
    matching: list[tuple[int, int]]  # the Hungarian pairs (with persons in common)
    transitions: list[Transition] = field(default_factory=list)

    def events(self) -> dict[str, int]:
        out = {e: 0 for e in ("persist", "split", "merge", "vanish", "new")}
        for t in self.transitions:
            out[t.event] += 1
        return out


def compare_runs(workspace: Workspace, run_a: str, run_b: str) -> Comparison:
    """Match the segments of ``run_a`` to those of ``run_b`` (ids or unique prefixes)."""
    engine = workspace.engine
    engine.require("segment_membership", "profiles")
    a, b = resolve_run(workspace, run_a), resolve_run(workspace, run_b)
    figures_a, figures_b = _figures(workspace, a), _figures(workspace, b)
    if not figures_a or not figures_b:
        empty = a if not figures_a else b
        raise StageError(f"run {empty} has no segment members")
    rows = engine.sql(
        """SELECT ma.segment_id, mb.segment_id, count(*)
        FROM segment_membership ma JOIN segment_membership mb ON ma.person_id = mb.person_id
        WHERE ma.run_id = ? AND mb.run_id = ?
          AND ma.segment_id IS NOT NULL AND mb.segment_id IS NOT NULL
        GROUP BY 1, 2""",
        [a, b],
    ).fetchall()
    overlap = {(int(i), int(j)): int(n) for i, j, n in rows}
    shared = sum(overlap.values())
    size_a = {s: f.size for s, f in figures_a.items()}
    size_b = {s: f.size for s, f in figures_b.items()}
    jaccard = {(i, j): n / (size_a[i] + size_b[j] - n) for (i, j), n in overlap.items() if n > 0}
    distance = _centroid_distances(workspace, a, b)
    persons_a, persons_b = sum(size_a.values()), sum(size_b.values())
    by_membership = shared >= MIN_SHARED * min(persons_a, persons_b)
    ids_a, ids_b = sorted(size_a), sorted(size_b)
    # Cost: 1 - Jaccard, and a thousandth of the (capped) centroid distance for ties.
    cost = np.ones((len(ids_a), len(ids_b)))
    for x, i in enumerate(ids_a):
        for y, j in enumerate(ids_b):
            d = min(distance.get((i, j), 10.0), 10.0)
            if by_membership:
                cost[x, y] = 1 - jaccard.get((i, j), 0.0) + d / 10_000
            else:
                cost[x, y] = d
    rows_, cols_ = linear_sum_assignment(cost)
    pairs = [(ids_a[x], ids_b[y]) for x, y in zip(rows_, cols_, strict=True)]
    if by_membership:
        matching = [p for p in pairs if jaccard.get(p, 0.0) > 0]
        transitions = _monic(overlap, figures_a, figures_b, jaccard, distance)
    else:
        matching = [p for p in pairs if distance.get(p, math.inf) <= MAX_CENTROID_DISTANCE]
        transitions = _by_centroids(matching, figures_a, figures_b, distance)
    return Comparison(
        a,
        b,
        "membership" if by_membership else "centroids",
        shared,
        persons_a,
        persons_b,
        figures_a,
        figures_b,
        jaccard,
        overlap,
        distance,
        sorted(matching),
        transitions,
    )


def _monic(
    overlap: dict[tuple[int, int], int],
    fa: dict[int, SegmentFigures],
    fb: dict[int, SegmentFigures],
    jaccard: dict[tuple[int, int], float],
    distance: dict[tuple[int, int], float],
) -> list[Transition]:
    survives: dict[int, int] = {}
    splits: dict[int, list[int]] = {}
    for i, seg in fa.items():
        shares = {j: overlap.get((i, j), 0) / seg.size for j in fb}
        best = max(shares, key=lambda j: (shares[j], -j))
        if shares[best] >= SURVIVE:
            survives[i] = best
            continue
        parts = sorted(j for j, s in shares.items() if s >= SPLIT_PART)
        if len(parts) >= 2 and sum(shares[j] for j in parts) >= SURVIVE:
            splits[i] = parts
    out: list[Transition] = []
    sources: dict[int, list[int]] = {}
    for i, j in survives.items():
        sources.setdefault(j, []).append(i)
    for j, group in sorted(sources.items(), key=lambda kv: min(kv[1])):
        group = sorted(group)
        event: Event = "persist" if len(group) == 1 else "merge"
        main = max(group, key=lambda i: (overlap.get((i, j), 0), -i))
        out.append(_transition(event, tuple(group), (j,), (main, j), fa, fb, jaccard, distance))
    for i, parts in splits.items():
        main = max(parts, key=lambda j: (overlap.get((i, j), 0), -j))
        out.append(_transition("split", (i,), tuple(parts), (i, main), fa, fb, jaccard, distance))
    for i in sorted(set(fa) - set(survives) - set(splits)):
        out.append(_transition("vanish", (i,), (), None, fa, fb, jaccard, distance))
    reached = set(sources) | {j for parts in splits.values() for j in parts}
    for j in sorted(set(fb) - reached):
        out.append(_transition("new", (), (j,), None, fa, fb, jaccard, distance))
    order = {"persist": 0, "merge": 1, "split": 2, "vanish": 3, "new": 4}
    return sorted(out, key=lambda t: (order[t.event], t.before or (99,), t.after))


def _by_centroids(
    matching: list[tuple[int, int]],
    fa: dict[int, SegmentFigures],
    fb: dict[int, SegmentFigures],
    distance: dict[tuple[int, int], float],
) -> list[Transition]:
    out = [
        _transition("persist", (i,), (j,), (i, j), fa, fb, {}, distance)
        for i, j in sorted(matching)
    ]
    matched_a, matched_b = {i for i, _ in matching}, {j for _, j in matching}
    out += [
        _transition("vanish", (i,), (), None, fa, fb, {}, distance)
        for i in sorted(fa)
        if i not in matched_a
    ]
    out += [
        _transition("new", (), (j,), None, fa, fb, {}, distance)
        for j in sorted(fb)
        if j not in matched_b
    ]
    return out


def _transition(
    event: Event,
    before: tuple[int, ...],
    after: tuple[int, ...],
    pair: tuple[int, int] | None,
    fa: dict[int, SegmentFigures],
    fb: dict[int, SegmentFigures],
    jaccard: dict[tuple[int, int], float],
    distance: dict[tuple[int, int], float],
) -> Transition:
    def revenue(figures: list[SegmentFigures]) -> float | None:
        known = [f for f in figures if f.avg_revenue is not None]
        if not known:
            return None
        return sum(f.avg_revenue * f.size for f in known if f.avg_revenue is not None) / sum(
            f.size for f in known
        )

    seg_a, seg_b = [fa[i] for i in before], [fb[j] for j in after]
    return Transition(
        event,
        before,
        after,
        jaccard.get(pair, 0.0) if pair is not None and jaccard else None,
        distance.get(pair) if pair is not None else None,
        sum(f.size for f in seg_a),
        sum(f.size for f in seg_b),
        revenue(seg_a),
        revenue(seg_b),
    )


def _figures(workspace: Workspace, run: str) -> dict[int, SegmentFigures]:
    """Each segment's size (from the membership) and its revenue figures (from the run's
    ``segments`` rows, when the table has them)."""
    engine = workspace.engine
    sizes = engine.sql(
        """SELECT segment_id, count(*) FROM segment_membership
        WHERE run_id = ? AND segment_id IS NOT NULL GROUP BY 1""",
        [run],
    ).fetchall()
    value: dict[int, tuple[float | None, float | None]] = {}
    if engine.has_table("segments"):
        cols = set(engine.columns("segments"))
        share = "revenue_share" if "revenue_share" in cols else "NULL"
        avg = "avg_revenue" if "avg_revenue" in cols else "NULL"
        for s, rs, ar in engine.sql(
            f"SELECT segment_id, {share}, {avg} FROM segments WHERE run_id = ?", [run]
        ).fetchall():
            value[int(s)] = (_num(rs), _num(ar))
    return {
        int(s): SegmentFigures(int(s), int(n), *value.get(int(s), (None, None)))
        for s, n in sorted(sizes)
    }


def _centroid_distances(workspace: Workspace, a: str, b: str) -> dict[tuple[int, int], float]:
    """RMS over the inputs of the difference of segment means, in sds over both runs."""
    engine = workspace.engine
    items: list[Input] = [i for i in inputs(workspace, a, categories=False)]
    seen = {i.name for i in items}
    items += [i for i in inputs(workspace, b, categories=False) if i.name not in seen]
    if not items:
        return {}
    select, params = select_inputs(items)
    engine.create_table(
        "_compare_x",
        f"""SELECT m.run_id, m.segment_id, {select} FROM profiles p
        JOIN segment_membership m ON m.person_id = p.person_id
        WHERE m.run_id IN (?, ?) AND m.segment_id IS NOT NULL""",
        temp=True,
        params=[*params, a, b],
    )
    n = len(items)
    sd = engine.sql(
        f"SELECT {', '.join(f'stddev_pop(x{j})' for j in range(n))} FROM _compare_x"
    ).fetchone()
    rows = engine.sql(
        f"SELECT run_id, segment_id, {', '.join(f'avg(x{j})' for j in range(n))} "
        "FROM _compare_x GROUP BY 1, 2"
    ).fetchall()
    engine.drop_table("_compare_x")
    usable = [j for j in range(n) if sd[j] is not None and float(sd[j]) > 1e-12]
    means: dict[str, dict[int, list[float | None]]] = {a: {}, b: {}}
    for r in rows:
        means[str(r[0])][int(r[1])] = [_num(r[2 + j]) for j in usable]
    out: dict[tuple[int, int], float] = {}
    for i, ma in means[a].items():
        for j, mb in means[b].items():
            diffs = [
                ((x - y) / float(sd[usable[k]])) ** 2
                for k, (x, y) in enumerate(zip(ma, mb, strict=True))
                if x is not None and y is not None
            ]
            out[(i, j)] = math.sqrt(sum(diffs) / len(diffs)) if diffs else math.inf
    return out


def _num(x: Any) -> float | None:
    if x is None:
        return None
    v = float(x)
    return None if math.isnan(v) else v
