"""Segment profiles and the value ranking: primary, secondary and negative segments.

Per segment (SQL over its members' profiles): size, revenue and its share, average
CLV, churn risk, acquisition cost, return rate, days since the last purchase,
support tickets (the cost to serve) and growth (the share of members who became
customers in the last ``profiles.lifecycle.new_days``).

Revenue is purchases to date; a company without purchases may name a numeric
attribute as its revenue (``segments.value_attribute``: monthly charges).

Value criteria, each a z-score across segments, weighted by ``segments.strategy``:
CLV per customer (revenue to date without a CLV), profitability (margin after
returns of that value, ``segments.gross_margin``, less the acquisition cost),
growth and retention (1 - churn risk). The value score is their weighted mean.

A segment is **negative** when it is low-value (its value per customer is under a
quarter of the average customer's) and it has one of: margin under 3x the
acquisition cost (the usual LTV:CAC bar, on CLV when there is one), lapsed (last
purchase 1.5x longer ago than the norm, or churn risk 1.5x the average and over
0.5), a high cost to serve (2x the average support tickets), high returns (1.5x
the average return rate). The other segments, by value score: the best
``segments.primary`` (3 to 5: those above the average score, at least 3 and at most
5) are **primary**, the rest **secondary**. Segment 1 is the best primary one;
negative segments come last.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from personify.formatting import number_format

if TYPE_CHECKING:
    from personify.workspace import Workspace


def write_segments(workspace: Workspace, run_id: str, assign: str) -> dict[int, int]:
    """Insert ``segments`` and ``segment_membership`` rows; cluster -> segment id."""
    engine = workspace.engine
    cfg = workspace.config.segments
    cols = set(engine.columns("profiles"))
    value_col = cfg.value_column if cfg.value_column in cols else None

    def avg(col: str) -> str:
        return f"avg(CAST(p.{col} AS DOUBLE))" if col in cols else "CAST(NULL AS DOUBLE)"

    revenue = f"coalesce(p.{value_col}, 0)" if value_col else "coalesce(p.monetary, 0)"
    new_days = workspace.config.profiles.lifecycle.new_days
    growth = (
        f"avg(CASE WHEN p.tenure_days <= {new_days} THEN CAST(1 AS DOUBLE) "
        "ELSE CAST(0 AS DOUBLE) END)"
        if "tenure_days" in cols
        else "CAST(NULL AS DOUBLE)"
    )
    stats = engine.fetch_df(
        f"""SELECT a.cluster, count(*) AS size, sum({revenue}) AS revenue,
               avg({revenue}) AS avg_revenue, {avg("acquisition_cost")} AS acquisition_cost,
               {avg("return_rate")} AS return_rate, {avg("recency_days")} AS recency_days,
               {avg("clv")} AS clv, {avg("churn_risk")} AS churn_risk,
               {avg("tickets")} AS tickets, {growth} AS growth
        FROM {assign} a JOIN profiles p USING (person_id) GROUP BY a.cluster ORDER BY a.cluster"""
    )
    segs = [dict(r) for r in stats.to_dict("records")]
    total = sum(s["size"] for s in segs)
    total_rev = sum(_num(s["revenue"]) or 0.0 for s in segs)

    def mean_of(key: str) -> float | None:
        vals = [(s[key], s["size"]) for s in segs if _num(s[key]) is not None]
        n = sum(w for _, w in vals)
        return sum(v * w for v, w in vals) / n if n else None

    pop = {
        k: mean_of(k)
        for k in (
            "avg_revenue",
            "clv",
            "return_rate",
            "recency_days",
            "churn_risk",
            "tickets",
            "acquisition_cost",
            "growth",
        )
    }
    margin = cfg.gross_margin
    has_clv = pop["clv"] is not None and pop["clv"] > 0
    for s in segs:
        s["share"] = s["size"] / total
        s["revenue_share"] = (s["revenue"] / total_rev) if total_rev else None
        value = _num(s["clv"]) if has_clv else _num(s["avg_revenue"])
        s["value"] = value
        ret = _num(s["return_rate"]) or 0.0
        s["ltv_margin"] = None if value is None else value * (1 - ret) * margin
        cac = _num(s["acquisition_cost"])
        s["profitability"] = None if s["ltv_margin"] is None else s["ltv_margin"] - (cac or 0.0)
    pop_value = pop["clv"] if has_clv else pop["avg_revenue"]
    criteria = {
        "clv": [s["value"] for s in segs],
        "profitability": [s["profitability"] for s in segs],
        "growth": [_num(s["growth"]) for s in segs],
        "retention": [None if _num(s["churn_risk"]) is None else 1 - s["churn_risk"] for s in segs],
    }
    weights = cfg.strategy.model_dump()
    scores = [0.0] * len(segs)
    used = 0.0
    for name, values in criteria.items():
        z = _zscores(values)
        if z is None or weights[name] == 0:
            continue
        used += weights[name]
        scores = [a + weights[name] * b for a, b in zip(scores, z, strict=True)]
    scores = [x / used if used else 0.0 for x in scores]

    locale = workspace.config.locale
    money = number_format(locale.currency, locale.language).money
    value_word = "CLV" if has_clv else "revenue"
    for s, score in zip(segs, scores, strict=True):
        s["value_score"] = score
        reasons: list[str] = []
        low_value = bool(pop_value and s["value"] is not None and s["value"] < pop_value / 4)
        if low_value and pop_value is not None:
            reasons.append(
                f"its {value_word} per customer ({money(s['value'], cents=False)}) is under a "
                f"quarter of the average ({money(pop_value, cents=False)})"
            )
        cac = _num(s["acquisition_cost"])
        ltv = _num(s["ltv_margin"])
        unprofitable = bool(cac and ltv is not None and ltv < 3 * cac)
        if unprofitable and cac and ltv is not None:
            reasons.append(
                f"its margin after returns ({money(s['ltv_margin'], cents=False)} per customer, "
                f"on {value_word}) is only {s['ltv_margin'] / cac:.1f}x what it cost to acquire "
                f"({money(cac, cents=False)}); 3x is the usual LTV:CAC bar"
            )
        lapsed = False
        rd, prd = _num(s["recency_days"]), pop["recency_days"]
        if rd is not None and prd is not None and prd > 0 and rd >= 1.5 * prd:
            lapsed = True
            reasons.append(
                f"last bought {rd:.0f} days ago on average, {rd / prd:.1f}x longer than the norm"
            )
        cr, pcr = _num(s["churn_risk"]), pop["churn_risk"]
        if cr is not None and pcr is not None and pcr > 0 and cr >= 1.5 * pcr and cr > 0.5:
            lapsed = True
            reasons.append(f"churn risk {100 * cr:.0f}%, {cr / pcr:.1f}x the average")
        tk, ptk = _num(s["tickets"]), pop["tickets"]
        costly = bool(tk is not None and ptk and tk >= 2 * ptk)
        if costly and tk is not None and ptk:
            reasons.append(f"{tk:.1f} support tickets per customer, {tk / ptk:.1f}x the average")
        rr, prr = _num(s["return_rate"]), pop["return_rate"]
        returns = bool(rr is not None and prr and rr > 1.5 * prr)
        if returns and rr is not None and prr:
            reasons.append(
                f"returns {100 * rr:.0f}% of items bought online, {rr / prr:.1f}x the average"
            )
        s["reasons"] = reasons
        s["negative"] = low_value and (unprofitable or lapsed or costly or returns)
    positive = sorted((s for s in segs if not s["negative"]), key=lambda s: -s["value_score"])
    negative = sorted((s for s in segs if s["negative"]), key=lambda s: -s["value_score"])
    low, high = cfg.primary
    above = sum(1 for s in positive if s["value_score"] > 0)
    n_primary = min(len(positive), high, max(low, above))
    for i, s in enumerate(positive):
        s["tier"] = "primary" if i < n_primary else "secondary"
        s["tier_reason"] = _tier_reason(s, i + 1, pop, has_clv, money)
    for s in negative:
        s["tier"] = "negative"
        s["tier_reason"] = "; ".join(s["reasons"])
    order: dict[int, int] = {}
    for sid, s in enumerate([*positive, *negative], start=1):
        order[int(s["cluster"])] = sid
        s["segment_id"] = sid
        engine.sql(
            """INSERT INTO segments (run_id, segment_id, size, share, revenue, revenue_share,
                avg_revenue, acquisition_cost, return_rate, recency_days, negative_reasons,
                negative, tier, tier_reason, value_score, clv, churn_risk, growth,
                profitability, tickets)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                run_id,
                sid,
                int(s["size"]),
                *(
                    _num(s[k])
                    for k in (
                        "share",
                        "revenue",
                        "revenue_share",
                        "avg_revenue",
                        "acquisition_cost",
                        "return_rate",
                        "recency_days",
                    )
                ),
                s["reasons"],
                bool(s["negative"]),
                s["tier"],
                s["tier_reason"],
                _num(s["value_score"]),
                *(_num(s[k]) for k in ("clv", "churn_risk", "growth", "profitability", "tickets")),
            ],
        )
    case = " ".join(f"WHEN {c} THEN {sid}" for c, sid in order.items())
    engine.sql(
        f"""INSERT INTO segment_membership
        SELECT '{run_id}', person_id, CASE cluster {case} END, distance
        FROM {assign} ORDER BY person_id"""
    )
    return order


def _tier_reason(
    s: dict[str, Any], rank: int, pop: dict[str, Any], has_clv: bool, money: Any
) -> str:
    parts = [f"value rank {rank} (score {s['value_score']:+.2f})"]
    pv = pop["clv"] if has_clv else pop["avg_revenue"]
    if s["value"] is not None and pv:
        word = "CLV" if has_clv else "revenue"
        parts.append(
            f"{word} {money(s['value'], cents=False)} per customer ({s['value'] / pv:.1f}x average)"
        )
    if _num(s["growth"]) is not None and pop["growth"]:
        parts.append(f"{100 * s['growth']:.0f}% new customers ({s['growth'] / pop['growth']:.1f}x)")
    if _num(s["churn_risk"]) is not None:
        parts.append(f"churn risk {100 * s['churn_risk']:.0f}%")
    return ", ".join(parts)


def _zscores(values: list[float | None]) -> list[float] | None:
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return None
    m = sum(known) / len(known)
    sd = math.sqrt(sum((v - m) ** 2 for v in known) / len(known))
    if sd <= 1e-12:
        return None
    return [0.0 if v is None else (v - m) / sd for v in values]


def _num(x: Any) -> float | None:
    if x is None:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f
