"""The persona stage: a named, evidence-backed portrait of each segment.

Everything on a card is computed from the segment's own rows, compared with
all segmented customers: demographics (with small groups suppressed),
distinguishing traits, channels, categories, acquisition, themes and scrubbed
quotes from what its members wrote. No customer's personal data reaches a card.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from personify.errors import StageError
from personify.formatting import NumberFormat, number_format
from personify.ingest._readers import quote_ident, quote_literal
from personify.ingest.kinds import KINDS
from personify.personas.card import CardFields, Q, journey_stages, narrative
from personify.personas.evidence import distinguishing
from personify.personas.naming import make_title, pick_name
from personify.personas.themes import ALPHA, segment_voices
from personify.profiles.custom import TIME_COLUMNS
from personify.profiles.features import CATEGORY_PREFIX, Catalogue, lower_first
from personify.progress import ProgressFn, no_progress
from personify.refresh import carried_names

if TYPE_CHECKING:
    from personify.workspace import Workspace

log = logging.getLogger(__name__)

SCHEMA = "personify.persona/v1"
MIN_TRAIT_Z = 0.25
TEXTS_PER_SEGMENT = 1500
CATEGORICAL = {
    "gender": 3,
    "income_band": 3,
    "education": 3,
    "marital_status": 3,
    "city": 3,
    "job_title": 3,
}


@dataclass(frozen=True)
class PersonaResult:
    run_id: str
    personas: list[dict[str, Any]]
    output_dir: Path
    report: Path | None
    # Segments too small for a persona (fewer than personas.k_anonymity members).
    withheld: list[dict[str, int]] = dc_field(default_factory=list)


def _fmt(value: float | None, fmt: str, numbers: NumberFormat) -> str:
    """A value in a trait's text: averages of counts keep one decimal ('3.2 vs 1.5')."""
    if value is None or pd.isna(value):
        return "n/a"
    if fmt == "count":
        return numbers.decimal(value, "#,##0.0")
    if fmt == "percent":
        return numbers.decimal(value * 100, "#,##0") + "%"
    if fmt in ("days", "years"):
        return numbers.decimal(value, "#,##0") + (" days" if fmt == "days" else "")
    if fmt == "currency":
        return numbers.money(value, cents=False)
    return numbers.decimal(value, "#,##0.00")


def _missing(value: Any) -> bool:
    return value is None or bool(pd.isna(value))


def _rounded(value: Any, digits: int) -> float | None:
    return None if _missing(value) else round(float(value), digits)


def _num(column: str) -> str:
    """A profile column as a number (a boolean's mean is its share of true)."""
    return f"CAST({quote_ident(column)} AS DOUBLE)"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


YES = {"yes", "true", "y", "ja", "oui", "si", "sí"}
NO = {"no", "false", "n", "nein", "non"}
GENDERS = {
    **dict.fromkeys(("female", "f", "woman", "w", "weiblich", "frau", "femme"), "female"),
    **dict.fromkeys(("male", "m", "man", "männlich", "mann", "homme"), "male"),
}


def _gender(shares: list[dict[str, Any]] | None, used: list[str], sid: int) -> str | None:
    """The segment's gender when it clearly has one (60% or more); else the one the set has
    named fewer personas after so far, so a 50/50 company does not get only men."""
    if not shares:
        return None
    top = shares[0]
    value = GENDERS.get(str(top["value"]).strip().lower())
    if value and top["share"] >= 0.6:
        return value
    f, m = used.count("female"), used.count("male")
    if f == m:
        return "female" if sid % 2 else "male"
    return "female" if f < m else "male"


def _level(n: int) -> str:
    return "high" if n >= 100 else "medium" if n >= 30 else "low"


def _confidences(
    size: int,
    age: Any,
    demo: dict[str, Any],
    traits: list[dict[str, Any]],
    card: dict[str, Any],
    voice: Any,
) -> dict[str, str]:
    """A confidence level per field: from the persons behind it and, for reasoned fields,
    the best of their statements' levels; 'none' where the field has nothing."""
    rank = {"none": 0, "low": 1, "medium": 2, "high": 3}

    def best(statements: list[dict[str, Any]]) -> str:
        if not statements:
            return "none"
        return max((s["confidence"] for s in statements), key=rank.__getitem__)

    out = {
        "size": _level(size),
        "demographics": _level(size) if (age or any(demo.values())) else "none",
        "traits": _level(size) if traits else "none",
        "themes": _level(voice.texts) if voice and voice.themes else "none",
        "quotes": "low" if voice and voice.quotes else "none",
    }
    for name in ("goals", "frustrations", "gains", "objections"):
        out[name] = best(card[name]["statements"])
    empathy = [
        s
        for key in ("says", "thinks", "does", "feels")
        for s in card["empathy_map"][key]["statements"]
    ]
    out["empathy_map"] = best(empathy)
    # Awareness holds every member: the journey's confidence rests on the stages after it.
    shown = [s["persons"] for s in card["journey"]["stages"][1:] if s["persons"]]
    out["journey"] = _level(max(shown)) if shown else "none"
    out["job"] = _level(size) if card["job"]["titles"] else "none"
    out["household"] = (
        _level(size)
        if card["household"]["marital_status"] or card["household"]["flags"]
        else "none"
    )
    out["location"] = _level(size) if card["location"]["cities"] else "none"
    return out


class PersonaBuilder:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        locale = workspace.config.locale
        self.numbers = number_format(locale.currency, locale.language)
        self.catalogue = Catalogue(workspace.config)
        self.k = workspace.config.personas.k_anonymity

    def run(self, *, progress: ProgressFn = no_progress, write_files: bool = True) -> PersonaResult:
        ws, engine = self.workspace, self.workspace.engine
        engine.require("segments", "segment_membership", "profiles")
        run = ws.segments.latest_run()
        run_id = run["run_id"]
        segments = engine.fetch_df(
            "SELECT * FROM segments WHERE run_id = ? ORDER BY segment_id", [run_id]
        )
        if segments.empty:
            raise StageError(f"segment run {run_id} has no segments")
        members = f"""(SELECT p.*, m.segment_id FROM profiles p JOIN segment_membership m
            USING (person_id) WHERE m.run_id = '{run_id}')"""
        progress("compare segments", 0.1)
        numeric = self._numeric_features()
        means = engine.fetch_df(
            "SELECT segment_id, "
            + ", ".join(f"avg({_num(c)}) AS {quote_ident(c)}" for c in numeric)
            + f" FROM {members} GROUP BY segment_id ORDER BY segment_id"
        ).set_index("segment_id")
        pop = engine.fetch_df(
            "SELECT "
            + ", ".join(
                f"avg({_num(c)}) AS {quote_ident('m_' + c)}, "
                f"stddev_pop({_num(c)}) AS {quote_ident('s_' + c)}"
                for c in numeric
            )
            + f" FROM {members}"
        ).iloc[0]
        ages = engine.fetch_df(
            f"""SELECT segment_id, {engine.quantiles("age", [0.25, 0.5, 0.75])} AS q,
                count(age) AS n_age FROM {members} GROUP BY segment_id"""
        ).set_index("segment_id")
        categorical = self._categorical(members)
        attributes = self._attributes(members, means, pop)
        acquisition = self._shares(members, "acquisition_channel", 4)
        dist = distinguishing(ws, run_id)
        journeys = self._journey(members)
        people = {
            "job_title": self._shares(members, "job_title", 3),
            "job_title_all": self._shares(members, "job_title", 50),
            "city": self._shares(members, "city", 3),
            "marital_status": self._shares(members, "marital_status", 3),
        }
        anyone = {c: self._has_values(c) for c in ("job_title", "city")}
        churn = ws.config.profiles.churn
        fields = CardFields(
            catalogue=self.catalogue,
            numbers=self.numbers,
            k=self.k,
            churn_attribute=None
            if churn is None
            else churn.label
            if churn.label.startswith("attr_")
            else f"attr_{churn.label}",
            country=ws.config.locale.country,
        )
        progress("what customers write", 0.4)
        voices = segment_voices(
            self._texts(run_id),
            quotes_per_segment=ws.config.personas.quotes_per_persona,
            region=ws.config.locale.country,
            k=self.k,
        )
        progress("write personas", 0.8)
        personas: list[dict[str, Any]] = []
        # A persona that continues one of the previous run keeps its name (refresh.py).
        carried = carried_names(ws, run_id)
        taken: set[str] = set(carried.values())
        genders: list[str] = []
        withheld: list[dict[str, int]] = []
        for seg in segments.itertuples():
            sid = int(seg.segment_id)
            if int(seg.size) < self.k:
                # k-anonymity: no persona of fewer than k customers; the report says so.
                withheld.append({"segment_id": sid, "customers": int(seg.size), "k": self.k})
                continue
            seg_dist = dist[dist["segment_id"] == sid]
            real = set(fields.significant(seg_dist)["attribute"])
            traits = [t for t in self._traits(means.loc[sid], pop, numeric) if t["feature"] in real]
            # No birth dates (an orders-only company): no ages, not a crash.
            q = (
                ages.loc[sid, "q"]
                if sid in ages.index and ages.loc[sid, "n_age"] >= self.k
                else None
            )
            median_age = float(q[1]) if q is not None else None
            demo = categorical.get(sid, {})
            gender = _gender(demo.get("gender"), genders, sid)
            genders.append(gender or "")
            name = carried.get(sid) or pick_name(
                gender,
                median_age,
                key=f"{run_id}:{sid}",
                taken=taken,
                language=ws.config.locale.language,
            )
            taken.add(name)
            buys = not _missing(means.loc[sid].get("frequency")) and means.loc[sid]["frequency"] > 0
            noun, lead = self._title_words(fields.significant(seg_dist), buys)
            title = make_title(
                [(t["feature"], t["z"]) for t in traits],
                default="Shopper" if buys else "Customer",
                noun=noun,
                lead=lead,
            )
            voice = voices.get(sid)
            seg_channels = [
                {"channel": ch, "share": round(float(means.loc[sid][f"{ch}_share"]), 4)}
                for ch in ("web", "app", "store")
                if f"{ch}_share" in means.columns and not pd.isna(means.loc[sid][f"{ch}_share"])
            ]
            seg_acq = [
                {"channel": a["value"], "share": a["share"]} for a in acquisition.get(sid, [])
            ]
            card = fields.build(
                seg_dist,
                voice,
                {},
                fields.people(
                    {
                        **{key: v.get(sid, []) for key, v in people.items()},
                        "city_any": anyone["city"],
                        "job_any": anyone["job_title"],
                    },
                    seg_dist,
                ),
            )
            frustrations = card["frustrations"]["statements"]
            objections = card["objections"]["statements"]
            pains = {
                "purchase": [
                    s["text"]
                    for s in frustrations
                    if s.get("attribute") in ("return_rate", "discount_share")
                ][:2],
                "retention": (
                    [s["text"] for s in frustrations if s["basis"] == "voice"][:1]
                    + [s["text"] for s in objections if s["basis"] != "voice"][:2]
                ),
                "advocacy": [s["text"] for s in objections if s["basis"] == "voice"][:2],
            }
            card["journey"] = journey_stages(
                journeys.loc[sid] if sid in journeys.index else pd.Series({"members": seg.size}),
                k=self.k,
                fmt=self.numbers,
                acquisition=seg_acq,
                channels=seg_channels,
                pains=pains,
            )
            personas.append(
                self._document(
                    run_id,
                    seg,
                    name,
                    title,
                    traits,
                    q,
                    demo,
                    means.loc[sid],
                    pop,
                    [
                        {"channel": a["value"], "share": a["share"]}
                        for a in acquisition.get(sid, [])
                    ],
                    voice,
                    attributes.get(sid, {}),
                    card,
                )
            )
        personas.sort(key=lambda p: (p["negative"], p["segment_id"]))
        narrator = ws.config.personas.narrative
        if narrator.url:  # optional: a model's narrative from the card's evidence only
            from personify.personas.llm import llm_narrative

            progress("narratives", 0.9)
            for doc in personas:
                told = llm_narrative(doc, narrator, language=ws.config.locale.language)
                if told:
                    doc["narrative"] = told
        self._store(run_id, personas)
        report = None
        if write_files:
            from personify.personas.render import write_outputs

            summary = {
                "customers": int(segments["size"].sum()),
                "persons": engine.count("profiles"),
                "revenue": float(segments["revenue"].sum()),
                "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "segment_run": run_id,
                "k": int(run["k"]),
                "silhouette": float(run["silhouette"]),
                "withheld": withheld,
            }
            # Files of personas from an earlier run must not linger beside the new ones.
            for stale in (ws.output_dir / "personas").glob("*"):
                if stale.suffix in {".json", ".md", ".svg", ".html"}:
                    stale.unlink()
            report = write_outputs(
                personas,
                ws.output_dir,
                summary=summary,
                currency=ws.config.locale.currency,
                language=ws.config.locale.language,
            ).report
        progress("personas", 1.0)
        for w in withheld:
            log.info(
                "segment %s has %s customers, fewer than personas.k_anonymity = %s: no persona",
                w["segment_id"], w["customers"], w["k"],
            )  # fmt: skip
        return PersonaResult(run_id, personas, ws.output_dir, report, withheld)

    # -- pieces ------------------------------------------------------------------------------
    def _has_values(self, column: str) -> bool:
        engine = self.workspace.engine
        if column not in set(engine.columns("profiles")):
            return False
        return bool(engine.scalar(f"SELECT count({quote_ident(column)}) FROM profiles"))

    def _journey(self, members: str) -> pd.DataFrame:
        """Per segment: members at each journey stage and the stages' median figures.

        Awareness: every member (the channel of the first touch where recorded);
        consideration: visited the web shop or app, viewed products or bought; purchase:
        bought; retention: bought again (lapsed or at risk: lost); advocacy: rated what they
        bought 4 or more out of 5 on average. Medians: sessions of the visitors, days from the
        first recorded touch to the first purchase, days between purchases of the repeat
        buyers, reviews of the advocates."""
        engine = self.workspace.engine
        have = set(engine.columns("profiles"))

        def flag(name: str, condition: str, *need: str) -> str:
            if not all(n in have for n in need):
                return f"CAST(NULL AS BIGINT) AS {name}"
            return f"sum(CASE WHEN {condition} THEN 1 ELSE 0 END) AS {name}"

        def median(name: str, value: str, condition: str, *need: str) -> str:
            if not all(n in have for n in need):
                return f"CAST(NULL AS DOUBLE) AS {name}"
            q = engine.quantiles(f"CASE WHEN {condition} THEN CAST({value} AS DOUBLE) END", [0.5])
            return f"{q} AS {name}"

        # Consideration needs a sign of looking (visits, product views); purchases alone
        # would make it a copy of the purchase stage.
        looked = [c for c in ("web_sessions", "product_views") if c in have]
        looked += ["frequency"] if looked and "frequency" in have else []
        considered = " OR ".join(f"{c} > 0" for c in looked) or "FALSE"
        lapsed = "lifecycle_stage IN ('lapsed', 'at risk')"
        advocate = "frequency > 0 AND reviews > 0 AND avg_rating >= 4"
        parts = [
            "count(*) AS members",
            "count(acquisition_channel) AS acquired"
            if "acquisition_channel" in have
            else "CAST(NULL AS BIGINT) AS acquired",
            f"sum(CASE WHEN {considered} THEN 1 ELSE 0 END) AS considered"
            if looked
            else "CAST(NULL AS BIGINT) AS considered",
            flag("visited", "web_sessions > 0", "web_sessions"),
            flag("viewed", "product_views > 0", "product_views"),
            flag("emailed", "email_open_rate > 0", "email_open_rate"),
            flag("buyers", "frequency > 0", "frequency"),
            flag("repeaters", "frequency > 1", "frequency"),
            flag("supported", "tickets > 0", "tickets"),
            flag("lapsed", lapsed, "lifecycle_stage"),
            flag("reviewers", "reviews > 0", "reviews"),
            flag("advocates", advocate, "frequency", "reviews", "avg_rating"),
            median("median_sessions", "web_sessions", "web_sessions > 0", "web_sessions"),
            median(
                "median_gap_days",
                "interpurchase_days_median",
                "frequency > 1",
                "frequency",
                "interpurchase_days_median",
            ),
            median("median_tickets", "tickets", "tickets > 0", "tickets"),
            median(
                "median_recency_days", "recency_days", lapsed, "lifecycle_stage", "recency_days"
            ),
            median("median_reviews", "reviews", advocate, "frequency", "reviews", "avg_rating"),
        ]
        df = engine.fetch_df(
            f"SELECT segment_id, {', '.join(parts)} FROM {members} GROUP BY segment_id"
        ).set_index("segment_id")
        days = self._days_to_first_purchase(members)
        df["median_days_to_purchase"] = (
            days["median_days"].reindex(df.index) if days is not None else None
        )
        for col in df.columns:
            # A stage nobody in the workspace reached is not in the data (Telco: no orders).
            if not col.startswith("median_") and col != "members" and not df[col].fillna(0).any():
                df[col] = None
            if col.startswith("median_"):
                df[col] = [
                    v[0] if isinstance(v, list | tuple) or hasattr(v, "__len__") else v
                    for v in df[col]
                ]
        return df

    def _days_to_first_purchase(self, members: str) -> pd.DataFrame | None:
        """Per segment: the median days from a member's first recorded touch (first_touch
        sources) to their first purchase on or after it; None without touches or purchases."""
        from personify.profiles.build import PURCHASE_TIMES, ProfileBuilder

        builder, engine = ProfileBuilder(self.workspace), self.workspace.engine
        touches = builder._linked("first_touch", "r.touch_ts AS ts")
        bought = [
            q for kind, col in PURCHASE_TIMES if (q := builder._linked(kind, f"r.{col} AS ts"))
        ]
        if not touches or not bought:
            return None
        days = engine.days_between("t.first_touch", "b.first_buy")
        q = engine.quantiles(f"CAST({days} AS DOUBLE)", [0.5])
        df = engine.fetch_df(
            f"""WITH t AS (SELECT person_id, min(ts) AS first_touch FROM ({touches}) x
                    GROUP BY person_id),
                b AS (SELECT person_id, min(ts) AS first_buy FROM ({" UNION ALL ".join(bought)}) y
                    GROUP BY person_id)
                SELECT m.segment_id, count(*) AS n, {q} AS median_days
                FROM {members} m JOIN t USING (person_id) JOIN b USING (person_id)
                WHERE b.first_buy >= t.first_touch
                GROUP BY m.segment_id"""
        ).set_index("segment_id")
        if df.empty:
            return None
        med = df["median_days"].map(lambda v: v[0] if hasattr(v, "__len__") else v)
        df["median_days"] = med.where(df["n"] >= self.k)  # k-anonymity: from k members
        return df

    def _title_words(self, sig: pd.DataFrame, buys: bool) -> tuple[str | None, str | None]:
        """A noun from the company's own vocabulary and a leading word for lapsed segments.

        The noun: the category the segment buys most above everyone's share ('Garden Buyer'),
        else the value of a declared attribute most of the segment shares and others less
        ('Month-to-month Customer'). Lapsed or at-risk members in the majority: 'Lapsed'."""
        noun = lead = None
        up = sig[sig["effect"] > 0]
        cats = up[up["attribute"].str.startswith(CATEGORY_PREFIX) & (up["kind"] != "category")]
        cats = cats[cats["segment"] >= 1.3 * cats["population"]]
        if not cats.empty:
            best = cats.sort_values("effect", ascending=False).iloc[0]
            name = str(best["attribute"])[len(CATEGORY_PREFIX) :].replace("_", " ")
            noun = f"{name.title()} Buyer"
        if noun is None:
            declared = up[
                (up["kind"] == "category")
                & up["attribute"].isin(list(self.catalogue.attributes))
                & (up["segment"] >= 0.5)
            ]
            if not declared.empty:
                best = declared.sort_values("effect", ascending=False).iloc[0]
                value = str(best["value"])
                label = self.catalogue.attributes[str(best["attribute"])].label
                who = "Buyer" if buys else "Customer"
                if value.lower() in YES:  # "Yes" alone says nothing: the label does
                    noun = f"{label} {who}"
                elif value.lower() in NO:
                    noun = f"No-{label.replace(' ', '-')} {who}"
                elif len(value) <= 24:
                    noun = f"{value} {who}"
        life = up[(up["attribute"] == "lifecycle_stage") & up["value"].isin(["lapsed", "at risk"])]
        if not life.empty and float(life["segment"].sum()) >= 0.5:
            lead = "Lapsed"
        return noun, lead

    def _numeric_features(self) -> list[str]:
        """Numeric profile columns, and booleans (their mean is a share)."""
        rows = self.workspace.engine.column_types("profiles")
        numeric = ("BIGINT", "INTEGER", "DOUBLE", "HUGEINT", "DECIMAL", "FLOAT", "BOOLEAN")
        return [r[0] for r in rows if r[0] != "person_id" and r[1].startswith(numeric)]

    def _attributes(
        self, members: str, means: pd.DataFrame, pop: pd.Series
    ) -> dict[int, dict[str, list[dict[str, Any]]]]:
        """Declared attributes and survey scales per segment, each beside the population's."""
        engine = self.workspace.engine
        have = set(engine.columns("profiles"))
        out: dict[int, dict[str, list[dict[str, Any]]]] = {int(s): {} for s in means.index}

        def add(sid: int, key: str, entry: dict[str, Any]) -> None:
            out.setdefault(sid, {}).setdefault(key, []).append(entry)

        for column, attr in self.catalogue.attributes.items():
            if column not in have:
                continue
            entry = {"name": column, "label": attr.label, "role": attr.role}
            if attr.role in ("numeric", "boolean"):
                fmt = attr.feature.format
                for sid in means.index:
                    value = means.loc[sid, column]
                    add(
                        int(sid),
                        "attributes",
                        {
                            **entry,
                            "format": fmt,
                            "segment": None if _missing(value) else round(float(value), 4),
                            "population": None
                            if _missing(pop[f"m_{column}"])
                            else round(float(pop[f"m_{column}"]), 4),
                        },
                    )
            elif attr.role == "date":
                q = quote_ident(column)
                df = engine.fetch_df(
                    f"""SELECT segment_id, CAST(quantile_disc({q}, 0.5) AS VARCHAR) AS median,
                        count({q}) AS n FROM {members} GROUP BY ALL"""
                ).set_index("segment_id")
                overall = engine.scalar(
                    f"SELECT CAST(quantile_disc({q}, 0.5) AS VARCHAR) FROM {members}"
                )
                for sid in means.index:
                    median = df.loc[sid, "median"] if sid in df.index else None
                    add(
                        int(sid),
                        "attributes",
                        {
                            **entry,
                            "format": "date",
                            "segment": None if _missing(median) else str(median),
                            "population": overall,
                        },
                    )
            elif attr.role == "categorical":
                seg_shares = self._shares(members, column, 3)
                everyone = self._population_shares(members, column, 3)
                for sid in means.index:
                    add(
                        int(sid),
                        "attributes",
                        {
                            **entry,
                            "format": "category",
                            "segment": seg_shares.get(int(sid), []),
                            "population": everyone,
                        },
                    )
        for column, scale in self.catalogue.scales.items():
            if column not in have:
                continue
            for sid in means.index:
                value = means.loc[sid, column]
                add(
                    int(sid),
                    "scales",
                    {
                        "name": column,
                        "label": scale.label,
                        "range": [scale.low, scale.high],
                        "segment": None if _missing(value) else round(float(value), 3),
                        "population": None
                        if _missing(pop[f"m_{column}"])
                        else round(float(pop[f"m_{column}"]), 3),
                    },
                )
        return out

    def _population_shares(self, members: str, column: str, top: int) -> list[dict[str, Any]]:
        q = quote_ident(column)
        df = self.workspace.engine.fetch_df(
            f"""SELECT {q} AS value, count(*) AS n, count(*) / sum(count(*)) OVER () AS share
            FROM {members} WHERE {q} IS NOT NULL GROUP BY {q}
            ORDER BY n DESC, value LIMIT {top}"""
        )
        return [
            {"value": str(r.value), "share": round(float(r.share), 4)}
            for r in df.itertuples()
            if r.n >= self.k
        ]

    def _traits(self, seg: pd.Series, pop: pd.Series, numeric: list[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for c in numeric:
            sd, mean, value = pop[f"s_{c}"], pop[f"m_{c}"], seg[c]
            if pd.isna(sd) or sd <= 0 or pd.isna(value) or c in ("revenue_12m",):
                continue
            z = (value - mean) / sd
            f = self.catalogue.describe(c)
            if abs(z) < MIN_TRAIT_Z or not (f.high and f.low):
                continue
            n = self.numbers
            text = (
                f"{f.high if z > 0 else f.low} "
                f"({_fmt(value, f.format, n)} vs {_fmt(mean, f.format, n)})"
            )
            out.append(
                {
                    "feature": c,
                    "label": f.label,
                    "segment": float(value),
                    "population": float(mean),
                    "z": round(float(z), 3),
                    "format": f.format,
                    "text": text,
                }
            )
        out.sort(key=lambda t: -abs(float(t["z"])))
        return out[:6]

    def _shares(self, members: str, column: str, top: int) -> dict[int, list[dict[str, Any]]]:
        engine = self.workspace.engine
        cols = set(engine.columns("profiles"))
        if column not in cols:
            return {}
        q = quote_ident(column)
        df = engine.fetch_df(
            f"""SELECT segment_id, {q} AS value, count(*) AS n,
                count(*) / sum(count(*)) OVER (PARTITION BY segment_id) AS share
            FROM {members} WHERE {q} IS NOT NULL GROUP BY segment_id, {q}
            QUALIFY row_number() OVER (PARTITION BY segment_id ORDER BY n DESC, value) <= {top}
            ORDER BY segment_id, n DESC, value"""
        )
        out: dict[int, list[dict[str, Any]]] = {}
        for row in df.itertuples():
            if row.n >= self.k:
                out.setdefault(int(row.segment_id), []).append(
                    {"value": str(row.value), "share": round(float(row.share), 4)}
                )
        return out

    def _categorical(self, members: str) -> dict[int, dict[str, list[dict[str, Any]]]]:
        out: dict[int, dict[str, list[dict[str, Any]]]] = {}
        for column, top in CATEGORICAL.items():
            key = "job_titles" if column == "job_title" else column
            for sid, values in self._shares(members, column, top).items():
                out.setdefault(sid, {})[key] = values
        return out

    def _texts(self, run_id: str) -> pd.DataFrame:
        """A deterministic sample of what each segment's members wrote.

        From ``voice_texts`` when the profiles stage built it (markup removed, scored
        for sentiment, scrubbed of personal data); else from the sources' raw texts."""
        ws = self.workspace
        if ws.engine.has_table("voice_texts"):
            return ws.engine.fetch_df(
                f"""SELECT segment_id, text, source, date, sentiment, person_id, true AS scrubbed
                FROM (SELECT m.segment_id, v.text, v.kind AS source, v.person_id,
                             CAST(v.date AS TIMESTAMP) AS date, v.sentiment, v.record_id,
                             row_number() OVER (PARTITION BY m.segment_id
                                 ORDER BY {ws.engine.sample_key("v.source || v.record_id")},
                                          v.source, v.record_id) AS nth
                      FROM voice_texts v JOIN segment_membership m
                        ON m.person_id = v.person_id AND m.run_id = '{run_id}'
                      WHERE v.text IS NOT NULL)
                WHERE nth <= {TEXTS_PER_SEGMENT}
                ORDER BY segment_id, source, record_id"""
            )
        texts: list[tuple[str, str, str]] = []  # (source, text expression, label)
        for kind, text in (
            ("support_tickets", "concat_ws('. ', r.subject, r.body)"),
            ("reviews", "concat_ws('. ', r.title, r.body)"),
            ("survey_responses", "r.open_answer"),
        ):
            texts += [(name, text, kind) for name in ws.sources_of_kind(kind)]
        loaded = ws.loaded_sources()
        for answer in self.catalogue.answers:  # open answers the config declares
            if answer.source in loaded:
                text = f"CAST(r.{quote_ident(answer.name)} AS VARCHAR)"
                texts.append((answer.source, text, loaded[answer.source].kind))
        parts = []
        for name, text, label in texts:
            kind = loaded[name].kind
            rid = KINDS[kind].record_id
            if rid is None or not KINDS[kind].identifiers:
                continue
            date = f"r.{TIME_COLUMNS[kind]}" if kind in TIME_COLUMNS else "NULL::TIMESTAMP"
            parts.append(
                f"""SELECT m.segment_id, {text} AS text, {quote_literal(label)} AS source,
                    CAST({date} AS TIMESTAMP) AS date, CAST(r.{rid} AS VARCHAR) AS record_id,
                    l.person_id
                FROM raw_{name} r JOIN identity_links l
                  ON l.source = '{name}' AND l.record_id = CAST(r.{rid} AS VARCHAR)
                JOIN segment_membership m ON m.person_id = l.person_id
                  AND m.run_id = '{run_id}'"""
            )
        if not parts:
            return pd.DataFrame(columns=["segment_id", "text", "source", "date", "person_id"])
        return ws.engine.fetch_df(
            f"""SELECT segment_id, text, source, date, person_id FROM ({" UNION ALL ".join(parts)})
            WHERE text IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY segment_id
                ORDER BY {ws.engine.sample_key("source || record_id")}, source, record_id)
                <= {TEXTS_PER_SEGMENT}
            ORDER BY segment_id, source, record_id"""
        )

    def _document(
        self,
        run_id: str,
        seg: Any,
        name: str,
        title: str,
        traits: list[dict[str, Any]],
        ages: Any,
        demo: dict[str, Any],
        means: pd.Series,
        pop: pd.Series,
        acquisition: list[dict[str, Any]],
        voice: Any,
        declared: dict[str, list[dict[str, Any]]],
        card: dict[str, Any],
    ) -> dict[str, Any]:
        sid = int(seg.segment_id)
        channels: list[dict[str, Any]] = [
            {"channel": ch, "share": round(float(means[f"{ch}_share"]), 4)}
            for ch in ("web", "app", "store")
            if f"{ch}_share" in means and not pd.isna(means[f"{ch}_share"])
        ]
        channels.sort(key=lambda c: -float(c["share"]))
        categories = []
        for c in means.index:
            if c.startswith(CATEGORY_PREFIX) and not pd.isna(means[c]):
                base = pop[f"m_{c}"]
                categories.append(
                    {
                        "category": c[len(CATEGORY_PREFIX) :].replace("_", " "),
                        "share": round(float(means[c]), 4),
                        "index": round(float(means[c] / base), 2) if base else None,
                    }
                )
        categories.sort(key=lambda c: -c["share"])
        reasons = [] if seg.negative_reasons is None else [str(r) for r in seg.negative_reasons]
        negative = bool(seg.negative)
        trait_words = [t["text"].rsplit(" (", 1)[0] for t in traits[:3]]
        trait_words = [lower_first(w) for w in trait_words]
        if len(trait_words) > 1:
            portrait = ", ".join(trait_words[:-1]) + " and " + trait_words[-1]
        else:
            portrait = trait_words[0] if trait_words else "looks like the average customer"
        revenue_share = None if _missing(seg.revenue_share) else float(seg.revenue_share)
        n = self.numbers
        revenue_text = (
            "no revenue recorded"
            if revenue_share is None
            else f"{n(revenue_share, 'percent')} of revenue"
        )
        description = (
            f"{name} stands for about {n(int(seg.size), 'count')} customers "
            f"({n(float(seg.share), 'percent')} of customers, {revenue_text}): {portrait}."
        )
        age = None
        if ages is not None and not _missing(ages[1]):
            age = {
                "p25": round(float(ages[0])),
                "median": round(float(ages[1])),
                "p75": round(float(ages[2])),
            }
        slug = _slug(f"{name} {title}")
        texts = voice.texts if voice else 0
        candidates = voice.candidates if voice else 0
        return {
            "schema": SCHEMA,
            "persona_id": f"{run_id}-{sid}",
            "segment_run": run_id,
            "segment_id": sid,
            "slug": slug,
            "name": name,
            "title": title,
            "description": description,
            "tagline": portrait[0].upper() + portrait[1:] + ".",
            "negative": negative,
            "negative_reasons": reasons,
            "size": {"customers": int(seg.size), "share": round(float(seg.share), 4)},
            "value": {
                "currency": self.workspace.config.locale.currency,
                "revenue": round(float(seg.revenue), 2),
                "revenue_share": None if revenue_share is None else round(revenue_share, 4),
                "avg_revenue": round(float(seg.avg_revenue), 2),
                "avg_orders": _rounded(means.get("frequency"), 2),
                "avg_order_value": _rounded(means.get("avg_order_value"), 2),
                "acquisition_cost": None
                if pd.isna(seg.acquisition_cost)
                else round(float(seg.acquisition_cost), 2),
                "rank": sid,
            },
            "demographics": {"age": age, **demo},
            "attributes": declared.get("attributes", []),
            "scales": declared.get("scales", []),
            "traits": traits,
            "channels": channels,
            "categories": categories[:5],
            "acquisition": acquisition,
            "themes": voice.themes if voice else [],
            "quotes": voice.quotes if voice else [],
            **card,
            "narrative": narrative(name, description, card),
            "confidence": _confidences(int(seg.size), age, demo, traits, card, voice),
            "evidence": {
                "size": f"segment {sid} of run {run_id}: {int(seg.size):,} customers",
                "demographics": "profiles of the segment's members; values shared by fewer than "
                f"{self.k} members are not shown",
                "traits": "segment average vs all segmented customers; shown when at least "
                f"{MIN_TRAIT_Z} standard deviations apart",
                "themes": f"TF-IDF terms the segment uses more than others, from {texts:,} "
                f"texts; of {candidates} candidates, those a permutation test against random "
                f"texts holds significant (family-wise p < {ALPHA})",
                "quotes": f"the {texts:,} texts' most distinctive, positive and negative in turn "
                "where sentiment is known, scrubbed of personal data",
                "value": "orders and store receipts linked to the members; acquisition cost = "
                "first-touch campaign spend / customers it acquired",
                "channels": "share of the members' purchases whose channel is recorded"
                if channels
                else "no channel is recorded for the members' purchases",
                "goals": "survey scales the segment agrees with more than the rest, and "
                "behaviour that shows what they seek; each statement says its test",
                "frustrations": "complaint themes (negative mean sentiment), support, returns "
                "and ratings where the segment differs from the rest",
                "gains": "themes they speak well of, higher ratings and sentiment",
                "objections": "negative review themes, unsubscribes, churn and lapse where "
                "the segment differs from the rest",
                "empathy_map": "says: themes and quotes; thinks: survey scales; does: "
                "behaviour and declared attributes; feels: sentiment, ratings, satisfaction",
                "journey": "members at each stage from their profiles: awareness (every "
                "member; first-touch channel), consideration (web or app sessions, product "
                "views or a purchase), purchase, retention (a repeat purchase; lapsed or at "
                "risk: lost), advocacy (average rating 4 or more of 5); touchpoints: e-mail "
                "opens, support tickets, reviews; medians over the members at the stage, "
                "days from the first touch to the first purchase from the touch and order dates",
                "significance": f"every statement rests on a difference between the segment "
                f"and the rest with Benjamini-Hochberg corrected p < {Q} over all of the run's "
                f"tests, and on at least {self.k} members",
            },
        }

    def _store(self, run_id: str, personas: list[dict[str, Any]]) -> None:
        engine = self.workspace.engine
        engine.sql(
            """CREATE TABLE IF NOT EXISTS personas (segment_run VARCHAR, persona_id VARCHAR,
            segment_id INTEGER, slug VARCHAR, name VARCHAR, title VARCHAR, negative BOOLEAN,
            created_at TIMESTAMP, document JSON)"""
        )
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        with engine.transaction():
            engine.delete_rows("personas", "segment_run = ?", [run_id])
            for p in personas:
                engine.sql(
                    "INSERT INTO personas VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        run_id,
                        p["persona_id"],
                        p["segment_id"],
                        p["slug"],
                        p["name"],
                        p["title"],
                        p["negative"],
                        now,
                        json.dumps(p, sort_keys=True),
                    ],
                )
