"""The segmentation stage: fit on a sample, score every customer in the engine.

1. Scaling statistics (median for missing values, mean, standard deviation) of
   each model feature are computed in the engine over all customers.
2. A deterministic sample (by hash of person id and seed) is pulled into
   Python and the model is fitted on it.
3. Every customer is assigned to the nearest centroid by one SQL query, so a
   million customers never pass through Python.
4. Segments are ranked by revenue; segments that cost more than they bring are
   flagged negative.

Writes ``segment_runs``, ``segments`` and ``segment_membership``; a run's id is
a hash of what it learned, so the same data gives the same run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from personify.errors import StageError
from personify.formatting import number_format
from personify.ingest._readers import quote_ident, quote_literal
from personify.profiles.features import CATEGORY_PREFIX, Catalogue
from personify.progress import ProgressFn, no_progress
from personify.segments.model import KSelectingKMeans

if TYPE_CHECKING:
    from personify.workspace import Workspace

MIN_CUSTOMERS = 50
ONE_HOT_VALUES = 5  # a categorical attribute enters the model as its most frequent values


@dataclass(frozen=True)
class SegmentationResult:
    run_id: str
    k: int
    silhouette: float
    silhouettes: dict[int, float]
    customers: int
    features: list[str]


class Segmentation:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._exprs: dict[str, str] = {}

    def model_features(self, eligible: str = "true") -> dict[str, str]:
        """Model input name -> its SQL over ``profiles`` (before scaling).

        Built-in inputs come from the catalogue; declared attributes with ``segment:
        true`` join them: numeric as they are, boolean as 0/1, categorical one-hot
        (one 0/1 input per value among its ``ONE_HOT_VALUES`` most frequent; a
        two-valued attribute gives one input, as the second would mirror the first).
        """
        catalogue = Catalogue(self.workspace.config)
        cols = self.workspace.engine.columns("profiles")
        out: dict[str, str] = {}
        for c in cols:
            attr = catalogue.attributes.get(c)
            if attr is not None:
                if not attr.segment:
                    continue
                if attr.role == "numeric":
                    out[c] = quote_ident(c)
                elif attr.role == "boolean":
                    out[c] = f"CAST({quote_ident(c)} AS DOUBLE)"
                elif attr.role == "categorical":
                    out.update(self._one_hot(c, eligible))
                continue
            f = catalogue.describe(c)
            if f.model or c.startswith(CATEGORY_PREFIX):
                out[c] = f"ln(1 + greatest({c}, 0))" if f.log else c
        return out

    def _one_hot(self, column: str, eligible: str) -> dict[str, str]:
        q = quote_ident(column)
        values = [
            str(r[0])
            for r in self.workspace.engine.sql(
                f"""SELECT {q} FROM profiles WHERE {eligible} AND {q} IS NOT NULL
                GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT {ONE_HOT_VALUES + 1}"""
            ).fetchall()
        ]
        values = values[:1] if len(values) == 2 else values[:ONE_HOT_VALUES]
        out: dict[str, str] = {}
        for value in values:
            slug = re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_") or "value"
            name, i = f"{column}__{slug}", 2
            while name in out:
                name, i = f"{column}__{slug}_{i}", i + 1
            out[name] = f"CAST(coalesce({q} = {quote_literal(value)}, false) AS DOUBLE)"
        return out

    def run(self, *, progress: ProgressFn = no_progress) -> SegmentationResult:
        engine = self.workspace.engine
        engine.require("profiles")
        cfg = self.workspace.config.segments
        eligible = f"frequency >= {cfg.min_orders}"
        customers = int(engine.scalar(f"SELECT count(*) FROM profiles WHERE {eligible}"))
        if customers < MIN_CUSTOMERS:
            raise StageError(
                f"only {customers} customers have at least {cfg.min_orders} purchase(s); "
                f"segmentation needs {MIN_CUSTOMERS} or more"
                + (
                    " (set segments.min_orders: 0 to segment persons without purchases)"
                    if cfg.min_orders > 0
                    else ""
                )
            )
        progress("scaling", 0.05)
        features, stats = self._scaling(eligible)
        z = {f: self._z_expr(f, stats[f]) for f in features}
        progress("sample", 0.15)
        sample = engine.fetch_df(
            f"""SELECT {", ".join(f"{e} AS {quote_ident(f)}" for f, e in z.items())} FROM profiles
            WHERE {eligible} ORDER BY {engine.sample_key(f"person_id || '{cfg.seed}'")}
            LIMIT {cfg.sample_size}"""
        )
        progress("fit", 0.25)
        model = KSelectingKMeans(k=cfg.k, k_range=cfg.k_range, random_state=cfg.seed)
        model.fit(sample[features].to_numpy())
        centers = np.round(model.cluster_centers_, 10)
        run_id = (
            "seg-"
            + hashlib.sha256(
                json.dumps([features, stats, centers.tolist()], sort_keys=True).encode()
            ).hexdigest()[:12]
        )
        progress("score", 0.6)
        with engine.transaction():
            self._write(run_id, eligible, features, stats, z, model, centers)
        progress("segments", 1.0)
        return SegmentationResult(
            run_id, model.n_clusters_, model.silhouette_, model.silhouettes_, customers, features
        )

    # -- steps -------------------------------------------------------------------------------
    def _raw_expr(self, feature: str) -> str:
        return self._exprs[feature]

    def _z_expr(self, feature: str, s: dict[str, float]) -> str:
        return (
            f"((coalesce({self._raw_expr(feature)}, {_double(s['median'])}) - "
            f"{_double(s['mean'])}) / {_double(s['sd'])})"
        )

    def _scaling(self, eligible: str) -> tuple[list[str], dict[str, dict[str, float]]]:
        engine = self.workspace.engine
        self._exprs = self.model_features(eligible)
        candidates = list(self._exprs)
        if len(candidates) < 2:
            raise StageError("fewer than two profile attributes can be segmented on")
        medians = engine.sql(
            f"SELECT {', '.join(f'median({self._raw_expr(f)})' for f in candidates)} "
            f"FROM profiles WHERE {eligible}"
        ).fetchone()
        usable = [(f, m) for f, m in zip(candidates, medians, strict=True) if m is not None]
        moments = engine.sql(
            "SELECT "
            + ", ".join(
                f"avg(coalesce({self._raw_expr(f)}, {_double(m)})), "
                f"stddev_pop(coalesce({self._raw_expr(f)}, {_double(m)}))"
                for f, m in usable
            )
            + f" FROM profiles WHERE {eligible}"
        ).fetchone()
        stats: dict[str, dict[str, float]] = {}
        for i, (f, m) in enumerate(usable):
            mean, sd = moments[2 * i], moments[2 * i + 1]
            if sd and sd > 1e-9 and math.isfinite(sd):
                # 10 significant digits: parallel float sums vary in the last bits.
                stats[f] = {
                    k: float(f"{v:.10g}") for k, v in (("median", m), ("mean", mean), ("sd", sd))
                }
        if len(stats) < 2:
            raise StageError("fewer than two profile attributes vary across customers")
        return list(stats), stats

    def _write(
        self,
        run_id: str,
        eligible: str,
        features: list[str],
        stats: dict[str, dict[str, float]],
        z: dict[str, str],
        model: KSelectingKMeans,
        centers: np.ndarray,
    ) -> None:
        engine = self.workspace.engine
        distances = [
            " + ".join(f"pow({z[f]} - {_double(c[j])}, 2)" for j, f in enumerate(features))
            for c in centers
        ]
        names = [f"d{i}" for i in range(1, len(distances) + 1)]
        nearest = f"least({', '.join(names)})" if len(names) > 1 else names[0]
        engine.create_table(
            "_assign",
            f"""WITH d AS (SELECT person_id, monetary,
                  {", ".join(f"{d} AS {n}" for d, n in zip(distances, names, strict=True))}
                FROM profiles WHERE {eligible})
            SELECT person_id, monetary, {engine.index_of_min(names)} AS cluster,
                   sqrt({nearest}) AS distance FROM d""",
            temp=True,
        )
        # Segment 1 is the one that brings the most revenue.
        engine.create_table(
            "_rank",
            """SELECT cluster,
                   row_number() OVER (ORDER BY sum(monetary) DESC, cluster) AS segment_id
            FROM _assign GROUP BY cluster""",
            temp=True,
        )
        for table, ddl in _DDL.items():
            engine.sql(ddl)
            engine.delete_rows(table, "run_id = ?", [run_id])
        engine.sql(
            f"""INSERT INTO segment_membership
            SELECT '{run_id}', a.person_id, r.segment_id, a.distance
            FROM _assign a JOIN _rank r USING (cluster) ORDER BY a.person_id"""
        )
        order = {int(c): int(s) for c, s in engine.sql("SELECT * FROM _rank").fetchall()}
        centroids = {
            order[i + 1]: dict(zip(features, map(float, c), strict=True))
            for i, c in enumerate(centers)
        }
        engine.sql(
            "INSERT INTO segment_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0),
                model.n_clusters_,
                float(model.silhouette_),
                json.dumps(features),
                json.dumps(stats, sort_keys=True),
                json.dumps({str(k): v for k, v in sorted(centroids.items())}),
                json.dumps({str(k): v for k, v in model.silhouettes_.items()}),
            ],
        )
        self._write_segments(run_id)
        engine.drop_table("_assign")
        engine.drop_table("_rank")

    def _write_segments(self, run_id: str) -> None:
        """Size, value and the negative flag of each segment.

        A segment is negative when it is low-value (each customer brings under a
        quarter of the average customer's revenue) and either pays back poorly (its
        margin after returns is under 3x what it cost to acquire: the common 3:1
        LTV:CAC rule of thumb) or has lapsed (it last bought 1.5x longer ago than the
        norm). A low-value segment that is active and pays back is a growth segment,
        not a negative one.
        """
        engine = self.workspace.engine
        margin = self.workspace.config.segments.gross_margin
        cols = set(engine.columns("profiles"))

        def avg(col: str) -> str:
            return f"avg(p.{col})" if col in cols else "NULL::DOUBLE"

        engine.create_table(
            "_seg",
            f"""WITH s AS (
              SELECT m.segment_id, count(*) AS size, sum(p.monetary) AS revenue,
                     avg(p.monetary) AS avg_revenue, {avg("acquisition_cost")} AS acquisition_cost,
                     {avg("return_rate")} AS return_rate, {avg("recency_days")} AS recency_days
              FROM segment_membership m JOIN profiles p USING (person_id)
              WHERE m.run_id = '{run_id}' GROUP BY m.segment_id),
            tot AS (SELECT sum(size) AS size, sum(revenue) AS revenue,
                           sum(return_rate * size) / sum(size) AS return_rate,
                           sum(recency_days * size) / sum(size) AS recency_days FROM s)
            SELECT s.*, s.size / tot.size AS share,
                   s.revenue / nullif(tot.revenue, 0) AS revenue_share,
                   s.avg_revenue * (1 - coalesce(s.return_rate, 0)) * {_double(margin)}
                     AS contribution,
                   tot.return_rate AS all_return_rate, tot.recency_days AS all_recency_days
            FROM s, tot""",
            temp=True,
        )
        low_value = "revenue_share < share / 4"
        unprofitable = "contribution < 3 * acquisition_cost"
        lapsed = "recency_days >= 1.5 * all_recency_days"
        many_returns = "return_rate > 1.5 * all_return_rate"
        flags = engine.fetch_df(
            f"""SELECT *, coalesce({low_value}, false) AS low_value,
                   coalesce({unprofitable}, false) AS unprofitable,
                   coalesce({lapsed}, false) AS lapsed,
                   coalesce({many_returns}, false) AS many_returns
            FROM _seg ORDER BY segment_id"""
        )
        locale = self.workspace.config.locale
        money = number_format(locale.currency, locale.language).money
        for s in flags.itertuples():
            # Reasons are worded here, not in SQL, so money follows the workspace's locale.
            reasons = []
            if s.low_value:
                reasons.append(
                    f"brings {100 * s.revenue_share:.0f}% of revenue from "
                    f"{100 * s.share:.0f}% of customers"
                )
            if s.unprofitable:
                reasons.append(
                    f"its margin after returns ({money(s.contribution, cents=False)} per "
                    f"customer) is only {s.contribution / s.acquisition_cost:.1f}x what it cost "
                    f"to acquire ({money(s.acquisition_cost, cents=False)}); 3x is the usual bar"
                )
            if s.lapsed:
                reasons.append(
                    f"last bought {s.recency_days:.0f} days ago on average, "
                    f"{s.recency_days / s.all_recency_days:.1f}x longer than the norm"
                )
            if s.many_returns:
                reasons.append(
                    f"returns {100 * s.return_rate:.0f}% of items bought online, "
                    f"{s.return_rate / s.all_return_rate:.1f}x the average"
                )
            negative = bool(s.low_value and (s.unprofitable or s.lapsed))
            engine.sql(
                """INSERT INTO segments (run_id, segment_id, size, share, revenue, revenue_share,
                    avg_revenue, acquisition_cost, return_rate, recency_days, negative_reasons,
                    negative) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    run_id,
                    int(s.segment_id),
                    int(s.size),
                    *(_value(x) for x in (s.share, s.revenue, s.revenue_share, s.avg_revenue)),
                    *(_value(x) for x in (s.acquisition_cost, s.return_rate, s.recency_days)),
                    reasons,
                    negative,
                ],
            )
        engine.drop_table("_seg")

    def latest_run(self) -> dict[str, Any]:
        engine = self.workspace.engine
        engine.require("segment_runs")
        df = engine.fetch_df("SELECT * FROM segment_runs ORDER BY created_at DESC, run_id LIMIT 1")
        return df.iloc[0].to_dict()


def _double(x: Any) -> str:
    """A float as a DOUBLE literal: a bare ``34.5`` is a DECIMAL, which DuckDB turns into
    DOUBLE beside an integer column while Spark keeps it DECIMAL and rounds (an average
    to 4 more places, a quotient to 6)."""
    return f"CAST({float(x)!r} AS DOUBLE)"


def _value(x: Any) -> float | None:
    """A float for the database; NULL for a missing value (NaN would be stored as NaN)."""
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


_DDL = {
    "segment_runs": """CREATE TABLE IF NOT EXISTS segment_runs (run_id VARCHAR,
        created_at TIMESTAMP,
        k INTEGER, silhouette DOUBLE, features VARCHAR, scaling VARCHAR, centroids VARCHAR,
        silhouettes VARCHAR)""",
    "segment_membership": """CREATE TABLE IF NOT EXISTS segment_membership (run_id VARCHAR,
        person_id VARCHAR, segment_id INTEGER, distance DOUBLE)""",
    "segments": """CREATE TABLE IF NOT EXISTS segments (run_id VARCHAR, segment_id INTEGER,
        size BIGINT, share DOUBLE, revenue DOUBLE, revenue_share DOUBLE, avg_revenue DOUBLE,
        acquisition_cost DOUBLE, return_rate DOUBLE, recency_days DOUBLE,
        negative_reasons VARCHAR[], negative BOOLEAN)""",
}
