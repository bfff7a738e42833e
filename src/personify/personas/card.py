"""The card's reasoned fields: goals, frustrations, gains, objections, empathy and journey maps,
job, household and location.

Every statement comes from one tested difference between the segment and the rest of the
segmented customers (:mod:`personify.personas.evidence`: corrected p below :data:`Q` and at
least a small effect), from a theme that passed the permutation test
(:mod:`personify.personas.themes`), or from the segment's own figures (the journey). Each
carries its evidence (the attribute, the two figures, the persons behind it, the test) and
a confidence level. A statement resting on fewer than ``k`` persons is not made; a field
with nothing behind it says so in its ``note`` instead of being filled.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pandas as pd

from personify.formatting import NumberFormat
from personify.personas.evidence import confidence
from personify.profiles.features import CATEGORY_PREFIX, Catalogue, lower_first

Q = 0.05  # corrected p-value (false discovery rate) below which a difference is stated
MIN_EFFECT = 0.2  # and at least a small effect (Cohen's d or h)
TONE = 0.05  # a theme whose texts average above this is positive, below its negative negative
Statement = dict[str, Any]

# What a behaviour says, for the profile attributes Personify computes itself:
# (attribute, direction) -> (field, phrase). The figures follow the phrase on the card.
BEHAVIOUR: dict[tuple[str, int], tuple[str, str]] = {
    ("discount_share", 1): ("goals", "Gets a good price"),
    ("store_share", 1): ("goals", "Buys in a store"),
    ("app_share", 1): ("goals", "Shops from the app"),
    ("web_share", 1): ("goals", "Shops on the website"),
    ("cross_sell_propensity", 1): ("goals", "Tries new categories"),
    ("avg_order_value", 1): ("goals", "Buys a lot in one basket"),
    ("return_rate", 1): ("frustrations", "Sends more back"),
    ("tickets", 1): ("frustrations", "Needs support more often"),
    ("tickets_12m", 1): ("frustrations", "Contacted support more in the last year"),
    ("avg_rating", -1): ("frustrations", "Rates what they bought lower"),
    ("avg_satisfaction", -1): ("frustrations", "Is less satisfied with support"),
    ("voice_sentiment", -1): ("frustrations", "Writes more critically"),
    ("avg_rating", 1): ("gains", "Rates what they bought higher"),
    ("avg_satisfaction", 1): ("gains", "Is more satisfied with support"),
    ("voice_sentiment", 1): ("gains", "Writes more warmly"),
    ("email_click_rate", 1): ("gains", "Follows our e-mails through"),
    ("email_unsubscribed", 1): ("objections", "Has unsubscribed from marketing e-mail"),
    ("churn_risk", 1): ("objections", "Is more likely to leave"),
    ("p_alive", -1): ("objections", "Has more probably stopped buying"),
    ("recency_days", 1): ("objections", "Has not bought for longer"),
    ("email_open_rate", -1): ("objections", "Leaves our e-mails unopened"),
}
# Profile attributes the empathy map's "does" column draws on (behaviour, not attitude).
DOES_SKIP = {"age", "voice_sentiment", "avg_rating", "avg_satisfaction", "acquisition_cost"}
FEELS = ("voice_sentiment", "avg_rating", "avg_satisfaction")
HOUSEHOLD = re.compile(r"partner|spouse|married|dependent|child|kid|household|family", re.I)
# Job families (ISCO-08 major groups), recognised by words in a job title (English, German).
JOB_FAMILIES: list[tuple[str, re.Pattern[str]]] = [
    (
        "Managers",
        re.compile(r"manager|director|head of|chief|executive|leiter|geschäftsführ", re.I),
    ),
    (
        "Health professionals",
        re.compile(
            r"nurse|doctor|physician|surgeon|pharmac|therap|dentist|midwife|arzt|pfleg", re.I
        ),
    ),
    ("Teaching professionals", re.compile(r"teacher|lecturer|professor|tutor|lehrer", re.I)),
    (
        "Science and engineering professionals",
        re.compile(r"engineer|scientist|architect|chemist|physicist|ingenieur", re.I),
    ),
    (
        "Information and communications technology",
        re.compile(r"developer|programmer|software|data |analyst|it |devops|entwickler", re.I),
    ),
    (
        "Business and administration",
        re.compile(r"account|financ|consultant|clerk|administrat|secretar|hr |buchhalt", re.I),
    ),
    (
        "Legal, social and cultural",
        re.compile(r"lawyer|solicitor|barrister|designer|artist|writer|journalist|social", re.I),
    ),
    ("Sales and services", re.compile(r"sales|retail|shop|cashier|chef|cook|waiter|verkäuf", re.I)),
    (
        "Craft and trades",
        re.compile(r"electrician|plumber|carpenter|mechanic|builder|technician|handwerk", re.I),
    ),
    ("Students", re.compile(r"student", re.I)),
    ("Retired", re.compile(r"retired|rentner|pension", re.I)),
]


def job_family(title: str) -> str | None:
    for family, pattern in JOB_FAMILIES:
        if pattern.search(f" {title} "):
            return family
    return None


class CardFields:
    """Builds the reasoned fields of one segment's card."""

    def __init__(
        self,
        *,
        catalogue: Catalogue,
        numbers: NumberFormat,
        k: int,
        churn_attribute: str | None = None,
        country: str | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.numbers = numbers
        self.k = k
        self.churn_attribute = churn_attribute
        self.country = country

    # -- helpers -----------------------------------------------------------------------
    def _fmt(self, value: Any, fmt: str) -> str:
        if fmt == "count":
            return self.numbers.decimal(float(value), "#,##0.0")
        return self.numbers(value, fmt)

    def _stmt(self, text: str, basis: str, evidence: str, row: Any = None, n: int = 0) -> Statement:
        if row is not None:
            n = int(row["count"])
            p, effect = float(row["p_adjusted"]), float(row["effect"])
            return {
                "text": text,
                "basis": basis,
                "attribute": str(row["attribute"]),
                "evidence": evidence,
                "persons": n,
                "p_value": p,
                "effect": round(effect, 3),
                "confidence": confidence(n, p, effect),
            }
        return {
            "text": text,
            "basis": basis,
            "attribute": None,
            "evidence": evidence,
            "persons": int(n),
            "p_value": None,
            "effect": None,
            "confidence": confidence(n, 0.0, 1.0) if n else "low",
        }

    def significant(self, dist: pd.DataFrame) -> pd.DataFrame:
        """The segment's differences that may be stated: tested, large enough, from k persons."""
        if dist.empty:
            return dist
        keep = (
            (dist["p_adjusted"] < Q)
            & (dist["effect"].abs() >= MIN_EFFECT)
            & (dist["count"] >= self.k)
        )
        return dist[keep].sort_values("p_adjusted", kind="stable")

    def _figures(self, row: Any, fmt: str) -> str:
        return (
            f"{self._fmt(row['segment'], fmt)} vs {self._fmt(row['rest'], fmt)} for other customers"
        )

    def _test(self, row: Any) -> str:
        shares = row["kind"] in ("category", "boolean")
        test = "two-proportion z-test" if shares else "Welch's t-test"
        return (
            f"{row['attribute']}: {int(row['n_segment']):,} members vs {int(row['n_rest']):,} "
            f"others, {test}, effect {float(row['effect']):+.2f}, "
            f"corrected p {_p(float(row['p_adjusted']))}"
        )

    # -- the fields --------------------------------------------------------------------
    def build(
        self,
        dist: pd.DataFrame,
        voice: Any,
        journey: dict[str, Any],
        figures: dict[str, Any],
    ) -> dict[str, Any]:
        sig = self.significant(dist)
        numeric = sig[sig["kind"] != "category"]
        fields: dict[str, list[Statement]] = {
            "goals": [],
            "frustrations": [],
            "gains": [],
            "objections": [],
        }
        thinks: list[Statement] = []
        does: list[Statement] = []
        feels: list[Statement] = []
        for _, row in numeric.iterrows():
            col = str(row["attribute"])
            sign = 1 if row["effect"] > 0 else -1
            if col in self.catalogue.scales:
                scale = self.catalogue.scales[col]
                verb = "Agrees more than others" if sign > 0 else "Agrees less than others"
                seg, rest = self._fmt(row["segment"], "number"), self._fmt(row["rest"], "number")
                text = (
                    f"{verb} that '{lower_first(scale.label)}': {seg} vs {rest} "
                    f"on {scale.range_text}"
                )
                s = self._stmt(text, "survey", self._test(row), row)
                thinks.append(s)
                if sign > 0:
                    fields["goals"].append(s)
                continue
            feature = self.catalogue.describe(col)
            fmt = feature.format if feature.format != "category" else "number"
            if col == self.churn_attribute and sign > 0:
                text = f"Leaves more often: {feature.label} {self._figures(row, 'percent')}"
                fields["objections"].append(self._stmt(text, "behaviour", self._test(row), row))
                continue
            mapped = BEHAVIOUR.get((col, sign))
            if mapped:
                field, phrase = mapped
                text = f"{phrase}: {lower_first(feature.label)} {self._figures(row, fmt)}"
                s = self._stmt(text, "behaviour", self._test(row), row)
                fields[field].append(s)
                if col in FEELS:
                    feels.append(s)
                    continue
            if col in DOES_SKIP or not (feature.high and feature.low):
                continue
            words = feature.high if sign > 0 else feature.low
            if col.startswith(CATEGORY_PREFIX) and sign < 0:
                continue  # a card says what they buy, not all they do not
            text = f"{words}: {self._figures(row, fmt)}"
            does.append(self._stmt(text, "behaviour", self._test(row), row))
        for _, row in sig[sig["kind"] == "category"].iterrows():
            col = str(row["attribute"])
            if row["effect"] <= 0 or row["segment"] < 0.2:
                continue
            if col in self.catalogue.attributes:
                label = self.catalogue.attributes[col].label
            elif col in ("gender", "city", "job_title", "marital_status", "income_band"):
                continue  # shown in demographics, job, household and location
            else:
                label = self.catalogue.describe(col).label
            text = f"{label}: {row['value']} for {self._figures(row, 'percent')}"
            does.append(self._stmt(text, "attribute", self._test(row), row))
        themes = voice.themes if voice else []
        says: list[Statement] = []
        for t in themes:
            tone = t.get("sentiment")
            evidence = (
                f"theme '{t['term']}' in {t['texts']:,} texts by {t['persons']:,} members, "
                f"permutation test family-wise p {_p(float(t['p_value']))}; mean sentiment "
                + ("unknown" if tone is None else f"{tone:+.2f}")
            )
            n = int(t["persons"])
            base = self._stmt("", "voice", evidence, n=n)
            base["p_value"] = float(t["p_value"])
            base["confidence"] = "high" if n >= 100 else "medium" if n >= 30 else "low"
            says.append({**base, "text": f"Talks about '{t['term']}' more than others"})
            if tone is None:
                continue
            where = str(t.get("source") or "texts").replace("_", " ")
            if tone > TONE:
                gain = f"Speaks well of '{t['term']}' (mean sentiment {tone:+.2f} in {where})"
                fields["gains"].append({**base, "text": gain})
            elif tone < -TONE:
                text = f"Complains about '{t['term']}' (mean sentiment {tone:+.2f} in {where})"
                key = "objections" if t.get("source") == "reviews" else "frustrations"
                fields[key].append({**base, "text": text})
        quotes = voice.quotes if voice else []
        for q in quotes[:3]:
            says.append(
                self._stmt(
                    f"“{q['text']}”",
                    "quote",
                    f"written by a member ({q['source']}), scrubbed of personal data",
                    n=1,
                )
                | {"confidence": "low"}
            )
        notes = {
            "goals": "Not in the data: no survey scale or behaviour sets them apart in what they "
            "seek",
            "frustrations": "Not in the data: no complaint theme, support or return figure sets "
            "them apart",
            "gains": "Not in the data: nothing they praise or rate sets them apart",
            "objections": "Not in the data: no negative review theme, unsubscribe, churn or "
            "lapse figure sets them apart",
        }
        out: dict[str, Any] = {
            name: _field(items[:6], notes[name]) for name, items in fields.items()
        }
        out["empathy_map"] = {
            "says": _field(says[:6], "Not in the data: the segment writes no text, or too little"),
            "thinks": _field(
                thinks[:5], "Not in the data: no survey scale sets their attitudes apart"
            ),
            "does": _field(does[:6], "Not in the data: no behaviour sets them apart"),
            "feels": _field(
                feels[:4], "Not in the data: no sentiment, rating or satisfaction sets them apart"
            ),
            "pains": [s["text"] for s in fields["frustrations"][:4]],
            "gains": [s["text"] for s in fields["gains"][:4]],
        }
        out["journey"] = journey
        out.update(figures)
        return out

    # -- job, household, location ----------------------------------------------------
    def people(self, shares: dict[str, Any], dist: pd.DataFrame) -> dict[str, Any]:
        titles = shares.get("job_title", [])
        families: dict[str, float] = {}
        for t in shares.get("job_title_all", []):
            family = job_family(t["value"])
            if family:
                families[family] = families.get(family, 0.0) + t["share"]
        job = {
            "titles": titles,
            "families": [
                {"value": f, "share": round(s, 4)}
                for f, s in sorted(families.items(), key=lambda e: -e[1])[:3]
            ],
            "note": None
            if titles
            else "Not in the data: no job title is recorded"
            if not shares.get("job_title_all")
            else f"No job title is shared by {self.k} or more members",
        }
        if titles and not job["families"]:
            job["note"] = "Job titles fit no job family"
        household: dict[str, Any] = {"marital_status": shares.get("marital_status", [])}
        flags = []
        for column, attr in self.catalogue.attributes.items():
            if attr.role != "boolean" or not HOUSEHOLD.search(f"{attr.name} {attr.label}"):
                continue
            rows = dist[(dist["attribute"] == column) & dist["value"].isna()]
            if rows.empty:
                continue
            row = rows.iloc[0]
            if int(row["count"]) < self.k:
                continue
            flags.append(
                {
                    "label": attr.label,
                    "share": round(float(row["segment"]), 4),
                    "population": round(float(row["population"]), 4),
                }
            )
        household["flags"] = flags
        household["note"] = (
            None
            if household["marital_status"] or flags
            else "Not in the data: no marital status or household attribute is recorded"
        )
        cities = shares.get("city", [])
        location = {
            "country": self.country,
            "cities": cities,
            "note": None
            if cities
            else "Not in the data: no town is recorded"
            if not shares.get("city_any")
            else f"No town is home to {self.k} or more members",
        }
        return {"job": job, "household": household, "location": location}


def narrative(name: str, description: str, card: dict[str, Any]) -> dict[str, Any]:
    """A short paragraph written by a fixed template from the card's own statements only."""

    def first(field: str) -> str | None:
        items = card[field]["statements"]
        return _clause(items[0]["text"]) if items else None

    parts = [description]
    goal, pain, gain, objection = (
        first(f) for f in ("goals", "frustrations", "gains", "objections")
    )
    if goal:
        parts.append(f"What {name} looks for: {goal}.")
    if gain:
        parts.append(f"What wins {name} over: {gain}.")
    if pain:
        parts.append(f"What gets in the way: {pain}.")
    if objection:
        parts.append(f"Why {name} may not buy or stay: {objection}.")
    if not (goal or gain or pain or objection):
        parts.append("The data says nothing about their goals, pains or objections.")
    return {"text": " ".join(parts), "generated_by": "template"}


def _clause(text: str) -> str:
    return lower_first(text.rstrip("."))


def _field(items: list[Statement], note: str) -> dict[str, Any]:
    return {"statements": items, "note": None if items else note}


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


# The journey's stages (the names) and what each is made of in the profiles:
# (stage, persons column, meaning, median column, conversion base, conversion of).
STAGES = (
    ("awareness", "members", "Came to know the company: every member (first touch where recorded)",
     None, None, None),
    ("consideration", "considered", "Looked at the offer: visited the web shop or app, viewed "
     "products or bought", "median_sessions", "members", "members"),
    ("purchase", "buyers", "Bought at least once", "median_days_to_purchase", "considered",
     "considered"),
    ("retention", "repeaters", "Bought again", "median_gap_days", "buyers", "buyers"),
    ("advocacy", "advocates", "Rated what they bought 4 or more out of 5 on average",
     "median_reviews", "buyers", "buyers"),
)  # fmt: skip
MEDIAN_OF = {
    "median_sessions": "sessions",
    "median_days_to_purchase": "days from the first touch to the first purchase",
    "median_gap_days": "days between purchases",
    "median_reviews": "reviews",
    "median_tickets": "tickets",
    "median_recency_days": "days since the last purchase",
}
# Touchpoints besides the channels: (stage, label, persons column, median column).
TOUCHPOINTS = (
    ("awareness", "first touch recorded", "acquired", None),
    ("consideration", "web shop or app visits", "visited", "median_sessions"),
    ("consideration", "product views", "viewed", None),
    ("consideration", "e-mails opened", "emailed", None),
    ("retention", "e-mails opened", "emailed", None),
    ("retention", "support tickets", "supported", "median_tickets"),
    ("advocacy", "reviews written", "reviewers", None),
)


def journey_stages(
    row: pd.Series,
    *,
    k: int,
    fmt: Callable[[Any, str], str],
    acquisition: list[dict[str, Any]],
    channels: list[dict[str, Any]],
    pains: dict[str, list[str]],
) -> dict[str, Any]:
    """Awareness, consideration, purchase, retention and advocacy with the segment's figures.

    ``row`` holds the segment's journey aggregates (see ``PersonaBuilder._journey``):
    members, considered, buyers, repeaters, advocates, the touchpoints' counts (acquired,
    visited, viewed, emailed, supported, reviewers), lapsed and the medians. Each stage has
    its share of the members, its conversion from the stage before (and the drop-off), the
    median time or count of the step, its channels and touchpoints and the pains the card
    found for it; retention also says how many were lost (lapsed or at risk). A figure from
    fewer than ``k`` members is withheld; a stage the workspace has no data for says so."""
    members = int(row.get("members") or 0)

    def count(name: str | None) -> int | None:
        if name is None:
            return None
        v = row.get(name)
        return None if v is None or pd.isna(v) else int(v)

    def median(name: str | None) -> float | None:
        if name is None:
            return None
        v = row.get(name)
        return None if v is None or pd.isna(v) else round(float(v), 1)

    def share(n: int | None) -> float | None:
        return round(n / members, 4) if n is not None and n >= k and members else None

    stages = []
    for stage, column, meaning, med, base, of in STAGES:
        n = members if column == "members" else count(column)
        shown = n is not None and n >= k
        entry: dict[str, Any] = {
            "stage": stage,
            "meaning": meaning,
            "persons": n if shown else None,
            "share": share(n),
            "conversion": None,
            "conversion_of": None,
            "drop_off": None,
            "median": None,
            "median_of": MEDIAN_OF[med] if med else None,
            "channels": [],
            "touchpoints": [],
            "pains": pains.get(stage, []),
            "lost": None,
            "note": None,
        }
        if n is None:
            entry["note"] = "Not in the data"
        elif not shown:
            entry["note"] = f"Fewer than {k} members"
        if shown and base and n is not None:
            prior = members if base == "members" else count(base)
            if base == "considered" and prior is None:  # no visit data: from the members
                prior, of = members, "members"
            if prior and prior >= k:
                entry["conversion"] = round(min(n / prior, 1.0), 4)
                entry["conversion_of"] = of
                entry["drop_off"] = round(1 - entry["conversion"], 4)
        if shown and med:
            entry["median"] = median(med)
        if stage == "awareness":
            entry["channels"] = acquisition
        elif stage in ("purchase", "retention"):
            entry["channels"] = [{"channel": c["channel"], "share": c["share"]} for c in channels]
        for where, label, col, tmed in TOUCHPOINTS:
            t = count(col)
            if where != stage or t is None or t < k:
                continue
            entry["touchpoints"].append(
                {
                    "touchpoint": label,
                    "persons": t,
                    "share": share(t),
                    "median": median(tmed),
                    "median_of": MEDIAN_OF[tmed] if tmed and median(tmed) is not None else None,
                }
            )
        if stage == "retention":
            lapsed = count("lapsed")
            if lapsed is not None and lapsed >= k:
                entry["lost"] = {
                    "meaning": "lapsed or at risk of lapsing",
                    "persons": lapsed,
                    "share": share(lapsed),
                    "median": median("median_recency_days"),
                    "median_of": MEDIAN_OF["median_recency_days"],
                }
                text = f"{fmt(lapsed / members, 'percent')} lapsed or at risk"
                days = median("median_recency_days")
                if days is not None:
                    text += f" ({fmt(days, 'days')} since the last purchase, median)"
                entry["pains"] = [*entry["pains"], text]
        stages.append(entry)
    return {
        "members": members,
        "stages": stages,
        "note": None
        if any(s["persons"] for s in stages[1:])
        else "Not in the data: no visit, purchase, review or support is recorded",
    }
