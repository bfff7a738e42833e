"""The segmentation stage: fit on a sample, assign every person in the engine.

1. Who is segmented: persons with at least ``segments.min_orders`` purchases
   (``auto``: 1 when anyone in the profiles bought, else everyone, so a
   subscription or reviews-only company is segmented on what it has).
2. Inputs (``segments/features.py``): mixed profile data transformed, scaled and
   weighted by group, from a deterministic sample (by hash of person id and seed).
3. The model (``segments/model.py``): the configured method, k chosen by
   silhouette or BIC together with bootstrap stability, fitted on the sample.
4. Every person is assigned by one SQL query (distance to each centroid, or the
   mixture's likelihood, or k-prototypes' mixed distance), so a million persons
   never pass through Python.
5. Segment profiles (size, revenue, CLV, churn risk, acquisition cost, growth),
   the value ranking into primary, secondary and negative tiers
   (``segments/ranking.py``) and the attributes that distinguish each segment,
   tested and corrected for multiple comparisons (``segments/profile.py``).

Writes ``segment_runs``, ``segments``, ``segment_membership`` and
``segment_attributes``; a run's id is a hash of what it learned, so the same data
gives the same run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from personify.errors import StageError
from personify.ingest._readers import quote_ident, quote_literal
from personify.progress import ProgressFn, no_progress
from personify.segments.features import FeatureSet, prepare
from personify.segments.model import SegmentModel

if TYPE_CHECKING:
    from personify.workspace import Workspace

MIN_CUSTOMERS = 50


@dataclass(frozen=True)
class SegmentationResult:
    run_id: str
    k: int
    silhouette: float
    silhouettes: dict[int, float]
    customers: int
    features: list[str]
    method: str = "kmeans"
    stability: float | None = None
    selection: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""
    unassigned: int = 0
    group_weights: dict[str, float] = field(default_factory=dict)
    population: str = ""
    charts_dir: str = ""
    charts: dict[str, Any] = field(default_factory=dict)


class Segmentation:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    # -- who and on what ---------------------------------------------------------------------
    def population(self) -> tuple[str, str]:
        """The SQL condition on ``profiles`` of who is segmented, and its wording."""
        engine = self.workspace.engine
        cfg = self.workspace.config.segments
        min_orders = cfg.min_orders
        if min_orders == "auto":
            buyers = engine.scalar("SELECT count(*) FROM profiles WHERE frequency > 0")
            min_orders = 1 if buyers else 0
        if min_orders == 0:
            return "true", "every person the profiles describe"
        return f"frequency >= {int(min_orders)}", f"persons with {min_orders}+ purchase(s)"

    def _sample_order(self) -> str:
        seed = self.workspace.config.segments.seed
        return self.workspace.engine.sample_key(f"person_id || '{seed}'")

    def feature_set(self, eligible: str | None = None) -> FeatureSet:
        eligible = eligible or self.population()[0]
        return prepare(
            self.workspace,
            eligible,
            self._sample_order(),
            self.workspace.config.segments.sample_size,
        )

    def model_features(self, eligible: str | None = None) -> dict[str, str]:
        """Model input name -> its SQL over ``profiles`` (before scaling)."""
        return {i.name: i.raw for i in self.feature_set(eligible).inputs}

    # -- the run -----------------------------------------------------------------------------
    def run(self, *, progress: ProgressFn = no_progress) -> SegmentationResult:
        engine = self.workspace.engine
        engine.require("profiles")
        cfg = self.workspace.config.segments
        eligible, who = self.population()
        customers = int(engine.scalar(f"SELECT count(*) FROM profiles WHERE {eligible}"))
        if customers < MIN_CUSTOMERS:
            raise StageError(
                f"only {customers} {who} ({eligible}); segmentation needs {MIN_CUSTOMERS} or more"
                + (
                    " (set segments.min_orders: 0 to segment persons without purchases)"
                    if eligible != "true"
                    else ""
                )
            )
        progress("features", 0.05)
        fs = self.feature_set(eligible)
        numeric = [i for i in fs.inputs if cfg.method != "kprototypes" or i.kind != "onehot"]
        cats = fs.categoricals if cfg.method == "kprototypes" else []
        if cfg.method == "kprototypes" and not cats:
            raise StageError("segments.method kprototypes needs a categorical attribute")
        progress("sample", 0.15)
        select = [f"{i.sql()} AS {quote_ident(i.name)}" for i in numeric]
        select += [f"{c.sql()} AS {quote_ident('cat__' + c.column)}" for c in cats]
        sample = engine.fetch_df(
            f"SELECT {', '.join(select)} FROM profiles WHERE {eligible} "
            f"ORDER BY {self._sample_order()} LIMIT {cfg.sample_size}"
        )
        X = sample[[i.name for i in numeric]].to_numpy(dtype=float)
        C = sample[[f"cat__{c.column}" for c in cats]].astype(str).to_numpy() if cats else None
        progress("fit", 0.25)
        model = SegmentModel(
            method=cfg.method,
            k=cfg.k,
            k_range=cfg.k_range,
            random_state=cfg.seed,
            bootstrap=cfg.bootstrap,
            min_stability=cfg.min_stability,
        ).fit(X, C)
        params = _rounded_params(model.params_)
        run_id = (
            "seg-"
            + hashlib.sha256(
                json.dumps(
                    [cfg.method, [i.record() for i in numeric], params], sort_keys=True
                ).encode()
            ).hexdigest()[:12]
        )
        progress("assign", 0.6)
        with engine.transaction():
            unassigned, order = self._write(run_id, eligible, who, fs, numeric, cats, model, params)
        progress("charts", 0.95)
        from personify.segments.charts import write_charts

        clusters = model.predict(X, C)
        charts = write_charts(
            self.workspace,
            run_id,
            X,
            np.array([order.get(int(c) + 1, 0) if c >= 0 else 0 for c in clusters]),
            [i.name for i in numeric],
        )
        progress("segments", 1.0)
        return SegmentationResult(
            run_id,
            model.n_clusters_,
            float(model.silhouette_),
            {r["k"]: r["silhouette"] for r in model.selection_ if r["silhouette"] is not None},
            customers - unassigned,
            [i.name for i in numeric] + [c.column for c in cats],
            cfg.method,
            model.stability_,
            model.selection_,
            model.reason_,
            unassigned,
            fs.group_weights,
            who,
            str(self.workspace.output_dir / "segments"),
            charts,
        )

    # -- assignment --------------------------------------------------------------------------
    def _costs(self, numeric: list[Any], cats: list[Any], params: dict[str, Any]) -> list[str]:
        """Per cluster, the SQL of the quantity the nearest cluster minimises."""
        method = self.workspace.config.segments.method
        z = [i.sql() for i in numeric]
        out = []
        for c, center in enumerate(params["centers"]):
            if method == "gmm":
                var = params["variances"][c]
                terms = [
                    f"pow({z[j]} - {_double(center[j])}, 2) / {_double(var[j])}"
                    for j in range(len(z))
                ]
                const = float(np.log(var).sum() - 2 * math.log(params["weights"][c]))
                out.append(" + ".join(terms) + f" + {_double(const)}")
                continue
            terms = [f"pow({z[j]} - {_double(center[j])}, 2)" for j in range(len(z))]
            if method == "kprototypes":
                modes = params["modes"][c]
                terms += [
                    f"{_double(params['gamma'])} * CASE WHEN {cat.sql()} = "
                    f"{quote_literal(str(modes[j]))} "
                    "THEN CAST(0 AS DOUBLE) ELSE CAST(1 AS DOUBLE) END"
                    for j, cat in enumerate(cats)
                ]
            out.append(" + ".join(terms))
        return out

    def _write(
        self,
        run_id: str,
        eligible: str,
        who: str,
        fs: FeatureSet,
        numeric: list[Any],
        cats: list[Any],
        model: SegmentModel,
        params: dict[str, Any],
    ) -> tuple[int, dict[int, int]]:
        from personify.segments.profile import write_attributes
        from personify.segments.ranking import write_segments

        engine = self.workspace.engine
        cfg = self.workspace.config.segments
        costs = self._costs(numeric, cats, params)
        names = [f"d{i}" for i in range(1, len(costs) + 1)]
        nearest = f"least({', '.join(names)})" if len(names) > 1 else names[0]
        engine.create_table(
            "_assign0",
            f"""WITH d AS (SELECT person_id,
                  {", ".join(f"{d} AS {n}" for d, n in zip(costs, names, strict=True))}
                FROM profiles WHERE {eligible})
            SELECT person_id, {engine.index_of_min(names) if len(names) > 1 else "1"} AS cluster,
                   {nearest} AS cost FROM d""",
            temp=True,
        )
        if cfg.method == "hdbscan":
            radius = params["radius"]
            case = " ".join(f"WHEN {i + 1} THEN {_double(r * r)}" for i, r in enumerate(radius))
            keep = f"cost <= CASE cluster {case} END"
        else:
            keep = "true"
        engine.create_table(
            "_assign",
            f"""SELECT person_id, cluster, sqrt(greatest(cost, 0)) AS distance FROM _assign0
            WHERE {keep}""",
            temp=True,
        )
        total = int(engine.scalar("SELECT count(*) FROM _assign0"))
        unassigned = total - int(engine.scalar("SELECT count(*) FROM _assign"))
        for table, ddl in _DDL.items():
            _ensure(engine, table, ddl)
            engine.delete_rows(table, "run_id = ?", [run_id])
        order = write_segments(self.workspace, run_id, "_assign")
        centroids = {
            order[i + 1]: dict(zip([f.name for f in numeric], map(float, c), strict=True))
            for i, c in enumerate(params["centers"])
            if i + 1 in order
        }
        evidence = {
            "method": cfg.method,
            "reason": model.reason_,
            "selection": model.selection_,
            "population": who,
            "eligible": eligible,
            "unassigned": unassigned,
            "left_out": fs.left_out,
            "cluster_of_segment": {str(s): c for c, s in order.items()},
            "params": {
                k: v
                for k, v in params.items()
                if k in ("variances", "weights", "modes", "gamma", "radius")
            },
            "categoricals": [
                {"column": c.column, "group": c.group, "values": list(c.values)} for c in cats
            ],
        }
        engine.sql(
            """INSERT INTO segment_runs (run_id, created_at, k, silhouette, features, scaling,
                centroids, silhouettes, method, stability, weights, selection, customers,
                unassigned) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                run_id,
                dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0),
                len(order),
                _value(model.silhouette_),
                json.dumps([f.name for f in numeric]),
                json.dumps({f.name: f.record() for f in numeric}, sort_keys=True),
                json.dumps({str(k): v for k, v in sorted(centroids.items())}),
                json.dumps(
                    {str(r["k"]): r["silhouette"] for r in model.selection_ if r["silhouette"]}
                ),
                cfg.method,
                _value(model.stability_),
                json.dumps(fs.group_weights, sort_keys=True),
                json.dumps(evidence, sort_keys=True),
                total - unassigned,
                unassigned,
            ],
        )
        write_attributes(self.workspace, run_id)
        engine.drop_table("_assign0")
        engine.drop_table("_assign")
        return unassigned, order

    def latest_run(self) -> dict[str, Any]:
        engine = self.workspace.engine
        engine.require("segment_runs")
        df = engine.fetch_df("SELECT * FROM segment_runs ORDER BY created_at DESC, run_id LIMIT 1")
        return df.iloc[0].to_dict()


def _rounded_params(p: dict[str, Any]) -> dict[str, Any]:
    """The model's parameters as JSON-ready lists, 10 significant digits."""
    out: dict[str, Any] = {}
    for k, v in p.items():
        if k in ("labels", "bic"):
            continue
        if k == "modes":
            out[k] = [[str(x) for x in row] for row in np.asarray(v)]
        elif isinstance(v, np.ndarray):
            out[k] = np.vectorize(lambda x: float(f"{x:.10g}"))(v.astype(float)).tolist()
        else:
            out[k] = float(f"{float(v):.10g}")
    return out


def _ensure(engine: Any, table: str, ddl: str) -> None:
    """Create the table, or add the columns an older version of it lacks."""
    if not engine.has_table(table):
        engine.sql(ddl)
        return
    have = set(engine.columns(table))
    body = ddl[ddl.index("(") + 1 : ddl.rindex(")")]
    wanted = [c.strip().split(None, 1) for c in _split_columns(body)]
    missing = [(n, t) for n, t in wanted if n not in have]
    if not missing:
        return
    old = ", ".join(quote_ident(c) for c in engine.columns(table))
    extra = ", ".join(f"CAST(NULL AS {t}) AS {n}" for n, t in missing)
    engine.create_table(f"_{table}_new", f"SELECT {old}, {extra} FROM {table}")
    engine.drop_table(table)
    engine.rename_table(f"_{table}_new", table)


def _split_columns(body: str) -> list[str]:
    return [c for c in (p.strip() for p in body.split(",")) if c]


def _double(x: Any) -> str:
    """A float as a DOUBLE literal: a bare ``34.5`` is a DECIMAL, which DuckDB turns into
    DOUBLE beside an integer column while Spark keeps it DECIMAL and rounds (an average
    to 4 more places, a quotient to 6)."""
    return f"CAST({float(x)!r} AS DOUBLE)"


def _value(x: Any) -> float | None:
    """A float for the database; NULL for a missing value (NaN would be stored as NaN)."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


_DDL = {
    "segment_runs": """CREATE TABLE IF NOT EXISTS segment_runs (run_id VARCHAR,
        created_at TIMESTAMP, k INTEGER, silhouette DOUBLE, features VARCHAR, scaling VARCHAR,
        centroids VARCHAR, silhouettes VARCHAR, method VARCHAR, stability DOUBLE,
        weights VARCHAR, selection VARCHAR, customers BIGINT, unassigned BIGINT)""",
    "segment_membership": """CREATE TABLE IF NOT EXISTS segment_membership (run_id VARCHAR,
        person_id VARCHAR, segment_id INTEGER, distance DOUBLE)""",
    "segments": """CREATE TABLE IF NOT EXISTS segments (run_id VARCHAR, segment_id INTEGER,
        size BIGINT, share DOUBLE, revenue DOUBLE, revenue_share DOUBLE, avg_revenue DOUBLE,
        acquisition_cost DOUBLE, return_rate DOUBLE, recency_days DOUBLE,
        negative_reasons VARCHAR[], negative BOOLEAN, tier VARCHAR, tier_reason VARCHAR,
        value_score DOUBLE, clv DOUBLE, churn_risk DOUBLE, growth DOUBLE,
        profitability DOUBLE, tickets DOUBLE)""",
    "segment_attributes": """CREATE TABLE IF NOT EXISTS segment_attributes (run_id VARCHAR,
        segment_id INTEGER, attribute VARCHAR, value VARCHAR, label VARCHAR, segment_mean DOUBLE,
        rest_mean DOUBLE, effect_size DOUBLE, p_value DOUBLE, q_value DOUBLE,
        distinguishing BOOLEAN, kind VARCHAR, population DOUBLE, n_segment BIGINT,
        n_rest BIGINT, persons BIGINT)""",
}
