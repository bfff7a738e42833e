"""The profile stage: one row per person with demographic, behavioral, engagement,
psychographic and value attributes, computed inside the engine.

Each attribute group is one query over the sources of one kind, joined to the
persons through ``identity_links``; a kind with no loaded source simply
contributes nothing (its attributes stay empty), and a column with no data
behind it (orders without a channel) stays empty rather than defaulted.
Attributes and survey scales declared in the config are added by
``profiles/custom.py``.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from personify.ingest._readers import quote_ident
from personify.ingest.kinds import KINDS
from personify.profiles.acquisition import AcquisitionReport, acquisition_query
from personify.profiles.append import append_queries
from personify.profiles.behavior import BehaviorBuilder, has_time_of_day
from personify.profiles.churn import churn_table
from personify.profiles.custom import custom_queries
from personify.profiles.features import CATEGORY_PREFIX, Catalogue
from personify.profiles.interests import interest_queries
from personify.profiles.modelling import ModelResult, write_models
from personify.profiles.propensity import cross_sell_table, upsell_table
from personify.profiles.traits import inferred_table
from personify.profiles.value import VALUE_COLUMNS, value_table
from personify.profiles.voice import VoiceBuilder, profile_query
from personify.progress import ProgressFn, no_progress

if TYPE_CHECKING:
    from personify.workspace import Workspace

log = logging.getLogger(__name__)

MAX_CATEGORIES = 12
MARGIN_COLUMNS = ("margin", "margin_rate")
PURCHASE_TIMES = (("orders", "order_ts"), ("pos_receipts", "receipt_ts"))


@dataclass(frozen=True)
class ProfileResult:
    persons: int
    customers: int  # persons with at least one purchase
    as_of: dt.date
    columns: list[str]
    # supervised models of the run (profile_models): e.g. {"churn": ModelResult}
    models: dict[str, ModelResult] = field(default_factory=dict)
    min_r2: float | None = None  # inferred traits: the R² a model needed to be kept
    acquisition: AcquisitionReport | None = None  # how spend was attributed, if any


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_") or "other"


# Parallel sums of floats differ in their last bits from run to run; money is
# rounded to pence and shares to 6 places so the same data gives the same profiles.


class ProfileBuilder:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        # Purchases dated after the run's day are typos or test rows, not history.
        self.cutoff = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)

    # -- helpers -----------------------------------------------------------------------------
    def _linked(self, kind: str, columns: str) -> str | None:
        """Rows of every loaded source of ``kind`` with their person_id; None if there are none."""
        rid = KINDS[kind].record_id
        parts = [
            f"SELECT l.person_id, {columns} FROM raw_{name} r JOIN identity_links l "
            f"ON l.source = '{name}' AND l.record_id = CAST(r.{rid} AS VARCHAR)"
            for name in self.workspace.sources_of_kind(kind)
        ]
        return " UNION ALL ".join(parts) if parts else None

    def _plain(self, kind: str, columns: str) -> str | None:
        parts = [f"SELECT {columns} FROM raw_{n}" for n in self.workspace.sources_of_kind(kind)]
        return " UNION ALL ".join(parts) if parts else None

    def _has_data(self, source: str, column: str) -> bool:
        """Whether any row of ``raw_<source>`` has a value in ``column``."""
        sql = (
            f"SELECT count(*) > 0 FROM (SELECT 1 FROM raw_{source} "
            f"WHERE {column} IS NOT NULL LIMIT 1)"
        )
        return bool(self.workspace.engine.scalar(sql))

    def _before_cutoff(self, column: str) -> str:
        return f"{column} < TIMESTAMP '{self.cutoff}'"

    def future_purchases(self) -> dict[str, int]:
        """Rows per purchase source dated after the run's day (left out of profiles)."""
        out = {}
        for kind, col in PURCHASE_TIMES:
            for name in self.workspace.sources_of_kind(kind):
                n = int(
                    self.workspace.engine.scalar(
                        f"SELECT count(*) FROM raw_{name} WHERE NOT {self._before_cutoff(col)}"
                    )
                )
                if n:
                    out[name] = n
        return out

    def as_of(self) -> dt.date:
        """The configured reference date, else the day after the latest purchase up to today."""
        configured = self.workspace.config.as_of
        if configured:
            return configured
        engine = self.workspace.engine
        latest = []
        for kind, col in PURCHASE_TIMES:
            for name in self.workspace.sources_of_kind(kind):
                latest.append(
                    engine.scalar(
                        f"SELECT max({col}) FROM raw_{name} WHERE {self._before_cutoff(col)}"
                    )
                )
        latest = [x for x in latest if x is not None]
        today = self.cutoff - dt.timedelta(days=1)
        return (max(latest) + dt.timedelta(days=1)).date() if latest else today

    # -- the stage ---------------------------------------------------------------------------
    def run(self, *, progress: ProgressFn = no_progress) -> ProfileResult:
        engine = self.workspace.engine
        engine.require("golden_record", "identity_links")
        for name, n in self.future_purchases().items():
            log.warning(
                "source '%s': %d row(s) dated after today (%s) are left out of profiles "
                "and of the reference date",
                name,
                n,
                self.cutoff - dt.timedelta(days=1),
            )
        as_of = self.as_of()
        catalogue = Catalogue(self.workspace.config)
        progress("purchases", 0.1)
        settings = self.workspace.config.profiles
        ctes: dict[str, str] = {}
        purchases = self._purchases()
        if purchases:
            ctes["purchases"] = purchases
            ctes["buy"] = f"""
                SELECT person_id, count(*) AS frequency, round(sum(amount), 2) AS monetary,
                  min(ts) AS first_ts, max(ts) AS last_ts,
                  -- shares of the purchases whose channel (discount) is known; NULL if none is
                  avg(CASE WHEN channel = 'app' THEN 1 ELSE 0 END)
                    FILTER (WHERE channel IS NOT NULL) AS app_share,
                  avg(CASE WHEN channel = 'web' THEN 1 ELSE 0 END)
                    FILTER (WHERE channel IS NOT NULL) AS web_share,
                  avg(CASE WHEN channel = 'store' THEN 1 ELSE 0 END)
                    FILTER (WHERE channel IS NOT NULL) AS store_share,
                  avg(CASE WHEN discounted THEN 1 ELSE 0 END)
                    FILTER (WHERE discounted IS NOT NULL) AS discount_share,
                  round(sum(CASE WHEN ts >= TIMESTAMP '{as_of}' - INTERVAL 365 DAY
                      THEN amount ELSE 0 END), 2) AS revenue_12m,
                  count(*) FILTER (WHERE ts >= TIMESTAMP '{as_of}'
                    - INTERVAL {int(settings.engagement.window_days)} DAY) AS touches_buy
                FROM purchases GROUP BY person_id"""
        # Lifetime value, probability alive, churn risk: profiles/value.py
        if purchases and value_table(
            engine,
            purchases,
            as_of,
            horizon_days=settings.clv_horizon_days,
            discount_rate=settings.discount_rate,
            purchase_model=settings.purchase_model,
            churn_window_days=settings.churn_window_days,
        ):
            ctes["val"] = "SELECT * FROM profile_value"
        progress("items and categories", 0.3)
        models: dict[str, ModelResult] = {}
        categories: list[str] = []
        items = self._items()
        if items:
            ctes["items"] = items
            categories = [
                r[0]
                for r in engine.sql(
                    f"""WITH items AS ({items}) SELECT category FROM items
                    WHERE category IS NOT NULL GROUP BY category
                    ORDER BY sum(amount) DESC, category LIMIT {MAX_CATEGORIES}"""
                ).fetchall()
            ]
            cat_cols = ", ".join(
                f"round(sum(CASE WHEN category = '{c.replace(chr(39), chr(39) * 2)}' "
                f"THEN amount ELSE 0 END) / nullif(sum(amount), 0), 6) "
                f"AS {CATEGORY_PREFIX}{_slug(c)}"
                for c in categories
            )
            # margin: items kept (not returned) whose cost is known
            kept = "cost IS NOT NULL AND NOT coalesce(returned, false)"
            ctes["item_stats"] = f"""
                SELECT person_id,
                  avg(CASE WHEN returned THEN 1 ELSE 0 END)
                    FILTER (WHERE online AND returned IS NOT NULL) AS return_rate,
                  round(sum(amount - cost) FILTER (WHERE {kept}), 2) AS margin,
                  round(sum(amount - cost) FILTER (WHERE {kept})
                    / nullif(sum(amount) FILTER (WHERE {kept}), 0), 6) AS margin_rate
                  {"," if cat_cols else ""} {cat_cols}
                FROM items GROUP BY person_id"""
            cross_sell = cross_sell_table(engine, items, as_of, settings.cross_sell_window_days)
            if cross_sell:
                models["cross_sell"] = cross_sell
                ctes["xsell"] = "SELECT person_id, cross_sell_propensity FROM _cross_sell"
            upsell = upsell_table(engine, items, as_of, settings.cross_sell_window_days)
            if upsell:
                models["upsell"] = upsell
                ctes["upsell"] = "SELECT person_id, upsell_propensity FROM _upsell"
        interests = interest_queries(
            "SELECT person_id, category FROM items" if "items" in ctes else None,
            self._linked("events", "r.category, r.product_id"),
            self._products(),
        )
        ctes.update(interests.ctes)
        progress("engagement", 0.5)
        reviews = self._linked("reviews", "r.rating")
        if reviews:
            ctes["rev"] = f"""SELECT person_id, count(*) AS reviews, avg(rating) AS avg_rating
                FROM ({reviews}) GROUP BY 1"""
        # Rhythm, habits, sessions, e-mail, support, engagement, lifecycle: behavior.py
        behavior = BehaviorBuilder(self.workspace, settings, as_of, self._linked).build(
            purchases if "buy" in ctes else None,
            engine.local_time("ts", zone)
            if (zone := self.workspace.config.locale.timezone)
            else "ts",
        )
        for group in behavior.groups:
            ctes[group.name] = group.body
        custom = custom_queries(self.workspace, catalogue)
        custom_ctes = {}
        for i, (column, query) in enumerate(custom.items()):
            custom_ctes[f"custom_{i}"] = column
            ctes[f"custom_{i}"] = query
        references = append_queries(
            engine, catalogue, set(self.workspace.sources_of_kind("reference"))
        )
        appended_ctes = {}
        for i, (source, query) in enumerate(references.items()):
            appended_ctes[f"ref_{i}"] = [
                quote_ident(a.column) for a in catalogue.appended.values() if a.source == source
            ]
            ctes[f"ref_{i}"] = query
        acquisition, acquisition_report = acquisition_query(
            engine, settings.acquisition.rule, self._linked, self._plain, purchases
        )
        if acquisition:
            ctes["acq"] = acquisition
        progress("what customers write", 0.6)
        voice = profile_query(VoiceBuilder(self.workspace, catalogue).run())
        if voice:
            ctes["voice"] = voice
        progress("profiles", 0.7)

        select = [
            "g.person_id",
            f"{engine.age_years('g.birth_date', as_of)} AS age",
            "g.gender",
            "g.city",
            "g.postcode",
            "g.income_band",
            "g.education",
            "g.marital_status",
            "g.job_title",
            "g.marketing_consent",
            "g.sources",
        ]
        joins = []
        as_of_ts = f"TIMESTAMP '{as_of}'"
        if "buy" in ctes:
            select += [
                "coalesce(b.frequency, 0) AS frequency",
                "coalesce(b.monetary, 0) AS monetary",
                "b.monetary / nullif(b.frequency, 0) AS avg_order_value",
                f"{engine.days_between('b.last_ts', as_of_ts)} AS recency_days",
                f"{engine.days_between('b.first_ts', as_of_ts)} AS tenure_days",
                "b.app_share",
                "b.web_share",
                "b.store_share",
                "b.discount_share",
                "coalesce(b.revenue_12m, 0) AS revenue_12m",
            ]
            joins.append("LEFT JOIN buy b USING (person_id)")
        else:
            select += ["0 AS frequency", "0.0 AS monetary"]
        for cte, cols in (
            (
                "item_stats",
                ["return_rate", *MARGIN_COLUMNS]
                + [f"{CATEGORY_PREFIX}{_slug(c)}" for c in categories],
            ),
            *((g.name, g.columns) for g in behavior.groups if g.columns),
            ("rev", ["coalesce(reviews, 0) AS reviews", "avg_rating"]),
            ("interest", ["interests"]),
            ("interest_new", ["interest_unbought"]),
            ("acq", ["acquisition_channel", "acquisition_cost"]),
            ("val", list(VALUE_COLUMNS)),
            ("xsell", ["cross_sell_propensity"]),
            ("upsell", ["upsell_propensity"]),
            (
                "voice",
                ["coalesce(voice_texts, 0) AS voice_texts", "voice_sentiment", "voice_theme"],
            ),
            *((cte, [quote_ident(column)]) for cte, column in custom_ctes.items()),
            *appended_ctes.items(),
        ):
            if cte in ctes:
                select += cols
                joins.append(f"LEFT JOIN {cte} USING (person_id)")
        select += behavior.select + interests.columns
        if "val" not in ctes:  # no purchases, or too few repeat buyers for the models
            select += [f"CAST(NULL AS DOUBLE) AS {c}" for c in VALUE_COLUMNS]
        if "item_stats" not in ctes:
            select += [f"CAST(NULL AS DOUBLE) AS {c}" for c in ("return_rate", *MARGIN_COLUMNS)]
        if "xsell" not in ctes:
            select.append("CAST(NULL AS DOUBLE) AS cross_sell_propensity")
        if "upsell" not in ctes:
            select.append("CAST(NULL AS DOUBLE) AS upsell_propensity")
        with_sql = ",\n".join(f"{name} AS ({body})" for name, body in ctes.items())
        churn = settings.churn
        traits = settings.traits.enabled and bool(catalogue.scales)
        # Models fitted in Python (churn, inferred traits) read a base table, then join in.
        staged = bool(churn) or traits
        engine.create_table(
            "_profiles_base" if staged else "profiles",
            f"""{"WITH " + with_sql if with_sql else ""}
            SELECT {", ".join(select)}
            FROM golden_record g {" ".join(joins)}
            ORDER BY g.person_id""",
            temp=staged,
        )
        if staged:
            base = engine.columns("_profiles_base")
            source = "_profiles_base p"
            joined: list[str] = []
            if churn:
                progress("churn model", 0.8)
                fitted = churn_table(engine, catalogue, churn, "_profiles_base", "_profile_churn")
                if fitted:
                    models["churn"] = fitted
                    base = [c for c in base if c != "churn_risk"]
                    joined.append("c.churn_risk")
                    source += " LEFT JOIN _profile_churn c USING (person_id)"
            if traits:
                progress("traits inferred from behaviour", 0.85)
                trait_models, inferred = inferred_table(
                    engine, catalogue, settings.traits, "_profiles_base", "_profile_traits"
                )
                models.update({m.model: m for m in trait_models})
                if inferred:
                    joined += [f"t.{quote_ident(c)}" for c in inferred]
                    source += " LEFT JOIN _profile_traits t USING (person_id)"
            cols = [f"p.{quote_ident(c)}" for c in base] + joined
            engine.create_table(
                "profiles", f"SELECT {', '.join(cols)} FROM {source} ORDER BY p.person_id"
            )
        write_models(engine, list(models.values()))
        progress("profiles", 1.0)
        columns = engine.columns("profiles")
        persons = engine.count("profiles")
        customers = int(engine.scalar("SELECT count(*) FROM profiles WHERE frequency > 0"))
        return ProfileResult(
            persons,
            customers,
            as_of,
            columns,
            models,
            settings.traits.min_r2,
            acquisition_report,
        )

    # -- attribute groups --------------------------------------------------------------------
    def _purchases(self) -> str | None:
        """Every purchase (web/app order or store receipt) with its person, amount, channel."""
        online_parts = []
        for name in self.workspace.sources_of_kind("orders"):
            # A source without discount data says nothing about discounts: NULL, not "none".
            if self._has_data(name, "discount") or self._has_data(name, "discount_code"):
                discounted = "(coalesce(r.discount, 0) > 0 OR r.discount_code IS NOT NULL)"
            else:
                discounted = "NULL::BOOLEAN"
            timed = has_time_of_day(self.workspace.engine, name, "order_ts")
            online_parts.append(
                f"""SELECT l.person_id, r.order_ts AS ts, r.total AS amount,
                    lower(r.channel) AS channel, {discounted} AS discounted, {timed} AS timed
                FROM raw_{name} r JOIN identity_links l
                  ON l.source = '{name}' AND l.record_id = CAST(r.order_id AS VARCHAR)
                WHERE coalesce(r.status, 'completed') <> 'cancelled'
                  AND {self._before_cutoff("r.order_ts")}"""
            )
        online = " UNION ALL ".join(online_parts) if online_parts else None
        store_parts = []
        for name in self.workspace.sources_of_kind("pos_receipts"):
            known = self._has_data(name, "discount")
            timed = has_time_of_day(self.workspace.engine, name, "receipt_ts")
            store_parts.append(
                f"""SELECT l.person_id, min(r.receipt_ts) AS ts,
                    sum(coalesce(r.quantity, 1) * r.unit_price - coalesce(r.discount, 0)) AS amount,
                    'store' AS channel,
                    {"sum(r.discount) > 0" if known else "NULL::BOOLEAN"} AS discounted,
                    {timed} AS timed
                FROM raw_{name} r JOIN identity_links l
                  ON l.source = '{name}' AND l.record_id = CAST(r.receipt_id AS VARCHAR)
                WHERE {self._before_cutoff("r.receipt_ts")}
                GROUP BY l.person_id, r.receipt_id"""
            )
        store = " UNION ALL ".join(store_parts) if store_parts else None
        parts = [p for p in (online, store) if p]
        return " UNION ALL ".join(f"({p})" for p in parts) if parts else None

    def _products(self) -> str | None:
        """Every product with its category, unit cost (NULL where a source has none) and
        price tier: the third of its category's list prices it falls in (1, 2, 3; NULL
        without a price, or in a category of fewer than 3 priced products)."""
        parts = []
        for name in self.workspace.sources_of_kind("products"):
            has_cost = "unit_cost" in self.workspace.engine.columns(f"raw_{name}")
            cost = "CAST(unit_cost AS DOUBLE)" if has_cost else "CAST(NULL AS DOUBLE)"
            parts.append(
                f"SELECT product_id, category, CAST(price AS DOUBLE) AS price, "
                f"{cost} AS unit_cost FROM raw_{name}"
            )
        if not parts:
            return None
        return f"""SELECT u.product_id, u.category, u.unit_cost,
                CASE WHEN r.priced < 3 THEN NULL WHEN 3 * r.pr < 1 THEN 1
                     WHEN 3 * r.pr < 2 THEN 2 ELSE 3 END AS tier
            FROM ({" UNION ALL ".join(parts)}) u
            LEFT JOIN (
                SELECT product_id,
                    percent_rank() OVER (PARTITION BY category ORDER BY price) AS pr,
                    count(*) OVER (PARTITION BY category) AS priced
                FROM ({" UNION ALL ".join(parts)}) q WHERE price IS NOT NULL) r
              USING (product_id)"""

    def _items(self) -> str | None:
        """Every purchased item with its person, amount, category, return flag and cost
        (quantity x the product's unit cost; NULL where the cost is unknown)."""
        products = self._products()
        cat_join = f"LEFT JOIN ({products}) p USING (product_id)" if products else ""
        cat = "p.category" if products else "NULL"
        unit_cost = "p.unit_cost" if products else "CAST(NULL AS DOUBLE)"
        tier = "p.tier" if products else "CAST(NULL AS INTEGER)"
        parts = []
        orders = self._linked(
            "orders",
            "r.order_id, coalesce(r.status, 'completed') AS status, r.order_ts, "
            f"{self._before_cutoff('r.order_ts')} AS dated",
        )
        line_sources = self.workspace.sources_of_kind("order_lines")
        if orders and line_sources:
            lines = " UNION ALL ".join(
                f"SELECT order_id, product_id, coalesce(quantity, 1) AS quantity, "
                f"coalesce(quantity, 1) * unit_price - coalesce(line_discount, 0) AS amount, "
                # lines of a source that records no returns say nothing about them
                f"{'coalesce(returned, false)' if self._has_data(n, 'returned') else 'NULL'}"
                f"::BOOLEAN AS returned FROM raw_{n}"
                for n in line_sources
            )
            parts.append(
                f"""SELECT o.person_id, {cat} AS category, li.amount, li.returned, true AS online,
                o.order_ts AS ts, li.quantity * {unit_cost} AS cost, {tier} AS tier
                FROM ({lines}) li JOIN ({orders}) o USING (order_id) {cat_join}
                WHERE o.status <> 'cancelled' AND o.dated"""
            )
        store = self._linked(
            "pos_receipts",
            "r.product_id, coalesce(r.quantity, 1) AS quantity, "
            "coalesce(r.quantity, 1) * r.unit_price - coalesce(r.discount, 0) AS amount, "
            "r.receipt_ts",
        )
        if store:
            parts.append(
                f"""SELECT s.person_id, {cat} AS category, s.amount, false AS returned,
                false AS online, s.receipt_ts AS ts, s.quantity * {unit_cost} AS cost,
                {tier} AS tier
                FROM ({store}) s {cat_join}
                WHERE {self._before_cutoff("s.receipt_ts")}"""
            )
        return " UNION ALL ".join(f"({p})" for p in parts) if parts else None
