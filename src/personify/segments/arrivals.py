"""Later arrivals: persons of the profile table whom a run did not segment get the nearest
of its segments, without refitting.

The nearest segment is found by a nearest-centroid rule learned from the run's own
membership, so it works whatever method the run used (k-means, mixtures, density-based):
each segment's mean of every input (segments/_runs.py) and each input's pooled
within-segment standard deviation, and a person goes to the segment with the smallest

    d_k = sum over inputs j the person has of ((x_j - mean_kj) / sd_j) ** 2

(the diagonal discriminant rule of Dudoit, Fridlyand and Speed 2002 with equal priors;
an input the person lacks is left out of every d_k alike). A person with none of the
inputs gets no segment. The rule is stored per run in ``segment_assigners`` when first
needed (inputs, means, deviations, and how many of the run's own members it puts back in
their segment: its agreement) and reused after, so a person's segment does not move as
others arrive. Assignments go to ``segment_arrivals`` (run_id, person_id, segment_id,
distance, assigned_at): the run's own ``segment_membership`` is left as the run wrote it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from personify.errors import StageError
from personify.progress import ProgressFn, no_progress
from personify.segments._runs import Input, double, inputs, resolve_run, select_inputs

if TYPE_CHECKING:
    from personify.workspace import Workspace

ASSIGNERS = "segment_assigners"
ARRIVALS = "segment_arrivals"
_DDL = {
    ASSIGNERS: f"""CREATE TABLE IF NOT EXISTS {ASSIGNERS} (run_id VARCHAR,
        created_at TIMESTAMP, inputs VARCHAR, means VARCHAR, sds VARCHAR, members BIGINT,
        agreement DOUBLE)""",
    ARRIVALS: f"""CREATE TABLE IF NOT EXISTS {ARRIVALS} (run_id VARCHAR, person_id VARCHAR,
        segment_id INTEGER, distance DOUBLE, assigned_at TIMESTAMP)""",
}
MIN_SD_SHARE = 1e-3  # an input's sd is at least this share of its overall sd


@dataclass(frozen=True)
class Assigner:
    """The nearest-centroid rule of one run."""

    run_id: str
    inputs: list[Input]
    means: dict[int, list[float]]  # segment -> mean of each input
    sds: list[float]  # pooled within-segment sd of each input
    members: int
    agreement: float  # share of the run's members it puts in their own segment


@dataclass(frozen=True)
class ArrivalResult:
    run_id: str
    arrivals: int  # persons of the profile table not in the run
    assigned: int
    unassigned: int  # none of the inputs known
    by_segment: dict[int, int]
    agreement: float
    inputs: int


def assign_arrivals(
    workspace: Workspace, run_id: str | None = None, *, progress: ProgressFn = no_progress
) -> ArrivalResult:
    """Give every person of ``profiles`` who is not in the run (default: the latest) the
    nearest of its segments; replaces the run's earlier arrivals."""
    engine = workspace.engine
    engine.require("profiles", "segment_membership")
    run = resolve_run(workspace, run_id)
    progress("rule", 0.1)
    assigner = load_assigner(workspace, run) or _fit(workspace, run)
    progress("assign", 0.5)
    select, params = select_inputs(assigner.inputs)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    with engine.transaction():
        for ddl in _DDL.values():
            engine.sql(ddl)
        if load_assigner(workspace, run) is None:
            _store(workspace, assigner, now)
        engine.create_table(
            "_arrivals_x",
            f"""SELECT p.person_id, {select} FROM profiles p
            LEFT JOIN (SELECT person_id FROM segment_membership WHERE run_id = ?) m
              ON m.person_id = p.person_id
            WHERE m.person_id IS NULL""",
            temp=True,
            params=[*params, run],
        )
        engine.create_table("_arrivals", _nearest_sql(engine, assigner, "_arrivals_x"), temp=True)
        engine.delete_rows(ARRIVALS, "run_id = ?", [run])
        engine.sql(
            f"""INSERT INTO {ARRIVALS} SELECT ?, person_id, segment_id, distance, ?
            FROM _arrivals ORDER BY person_id""",
            [run, now],
        )
        counts = engine.sql(
            "SELECT segment_id, count(*) FROM _arrivals GROUP BY segment_id"
        ).fetchall()
        engine.drop_table("_arrivals")
        engine.drop_table("_arrivals_x")
    progress("done", 1.0)
    by_segment = {int(s): int(n) for s, n in counts if s is not None}
    unassigned = sum(int(n) for s, n in counts if s is None)
    assigned = sum(by_segment.values())
    return ArrivalResult(
        run,
        assigned + unassigned,
        assigned,
        unassigned,
        dict(sorted(by_segment.items())),
        assigner.agreement,
        len(assigner.inputs),
    )


def load_assigner(workspace: Workspace, run_id: str) -> Assigner | None:
    engine = workspace.engine
    if not engine.has_table(ASSIGNERS):
        return None
    row = engine.sql(
        f"SELECT inputs, means, sds, members, agreement FROM {ASSIGNERS} WHERE run_id = ?",
        [run_id],
    ).fetchone()
    if row is None:
        return None
    items = [Input(**i) for i in json.loads(row[0])]
    means = {int(k): [float(x) for x in v] for k, v in json.loads(row[1]).items()}
    return Assigner(
        run_id, items, means, [float(x) for x in json.loads(row[2])], int(row[3]), float(row[4])
    )


def _fit(workspace: Workspace, run: str) -> Assigner:
    """Segment means and pooled within-segment sds of every input, from the run's members."""
    engine = workspace.engine
    items = inputs(workspace, run)
    if not items:
        raise StageError("the profile table has no numeric attribute to place persons by")
    select, params = select_inputs(items)
    engine.create_table(
        "_assigner_x",
        f"""SELECT m.segment_id, {select} FROM profiles p
        JOIN segment_membership m ON m.person_id = p.person_id
        WHERE m.run_id = ? AND m.segment_id IS NOT NULL""",
        temp=True,
        params=[*params, run],
    )
    n = len(items)
    stats = ", ".join(f"count(x{j}), avg(x{j}), var_pop(x{j})" for j in range(n))
    rows = engine.sql(
        f"SELECT segment_id, count(*), {stats} FROM _assigner_x GROUP BY segment_id "
        "ORDER BY segment_id"
    ).fetchall()
    overall = engine.sql(
        f"SELECT {', '.join(f'stddev_pop(x{j})' for j in range(n))} FROM _assigner_x"
    ).fetchone()
    segments = [int(r[0]) for r in rows]
    members = sum(int(r[1]) for r in rows)
    if len(segments) < 2:
        engine.drop_table("_assigner_x")
        raise StageError(f"run {run} has fewer than two segments: nothing to choose between")
    keep: list[int] = []
    sds: list[float] = []
    for j in range(n):
        counts = [int(r[2 + 3 * j]) for r in rows]
        within = sum(c * float(r[4 + 3 * j] or 0) for c, r in zip(counts, rows, strict=True))
        dof = sum(counts) - sum(1 for c in counts if c > 0)
        total_sd = float(overall[j] or 0)
        if dof <= 0 or not total_sd > 1e-12 or not math.isfinite(total_sd):
            continue  # an input that does not vary tells no segment from another
        keep.append(j)
        sds.append(max(math.sqrt(within / dof), MIN_SD_SHARE * total_sd))
    if not keep:
        engine.drop_table("_assigner_x")
        raise StageError("no profile attribute varies across the run's members")
    means: dict[int, list[float]] = {}
    for r in rows:
        segment_means = []
        for j in keep:
            value = r[3 + 3 * j]
            # A segment with no value of an input sits at the input's overall mean.
            segment_means.append(float(value) if value is not None else math.nan)
        means[int(r[0])] = segment_means
    for i, _ in enumerate(keep):
        column = [means[s][i] for s in segments if not math.isnan(means[s][i])]
        fill = sum(column) / len(column)
        for s in segments:
            if math.isnan(means[s][i]):
                means[s][i] = fill
    kept = [items[j] for j in keep]
    draft = Assigner(run, kept, means, sds, members, math.nan)
    # How many of the run's own members the rule puts back in their segment.
    engine.create_table(
        "_assigner_k",
        "SELECT segment_id AS own, "
        + ", ".join(f"x{j} AS x{i}" for i, j in enumerate(keep))
        + " FROM _assigner_x",
        temp=True,
    )
    engine.create_table("_assigner_a", _nearest_sql(engine, draft, "_assigner_k", "own"), temp=True)
    agree = engine.scalar(
        "SELECT avg(CASE WHEN segment_id = own THEN 1 ELSE 0 END) FROM _assigner_a"
    )
    for t in ("_assigner_a", "_assigner_k", "_assigner_x"):
        engine.drop_table(t)
    return Assigner(run, kept, means, sds, members, float(agree or 0))


def _nearest_sql(engine: Any, a: Assigner, table: str, carry: str = "person_id") -> str:
    """SELECT ``carry``, segment_id, distance: the nearest segment of each row of ``table``
    (whose inputs are columns x0, x1, ... in the assigner's order)."""
    segments = sorted(a.means)
    names = [f"d{s}" for s in segments]
    distances = []
    for s in segments:
        terms = [
            f"coalesce(pow((x{j} - {double(m)}) / {double(sd)}, 2), 0)"
            for j, (m, sd) in enumerate(zip(a.means[s], a.sds, strict=True))
        ]
        distances.append(" + ".join(terms))
    present = " + ".join(f"CASE WHEN x{j} IS NULL THEN 0 ELSE 1 END" for j in range(len(a.sds)))
    nearest = f"least({', '.join(names)})" if len(names) > 1 else names[0]
    # index_of_min gives a position in the list of segments; a CASE maps it to the id.
    segment = " ".join(f"WHEN k = {i + 1} THEN {s}" for i, s in enumerate(segments))
    return f"""WITH d AS (SELECT {carry}, {present} AS present,
          {", ".join(f"{d} AS {n}" for d, n in zip(distances, names, strict=True))}
        FROM {table}),
      e AS (SELECT {carry}, present, {engine.index_of_min(names)} AS k, {nearest} AS dmin
        FROM d)
    SELECT {carry}, CASE WHEN present = 0 THEN NULL {segment} END AS segment_id,
      CASE WHEN present = 0 THEN NULL ELSE sqrt(dmin) END AS distance
    FROM e"""


def _store(workspace: Workspace, a: Assigner, now: dt.datetime) -> None:
    workspace.engine.sql(
        f"INSERT INTO {ASSIGNERS} VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            a.run_id,
            now,
            json.dumps([i.as_dict() for i in a.inputs]),
            json.dumps({str(k): v for k, v in sorted(a.means.items())}),
            json.dumps(a.sds),
            a.members,
            a.agreement,
        ],
    )
