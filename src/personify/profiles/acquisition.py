"""Acquisition channel and cost: marketing spend attributed to the customers it acquired.

A rule (``profiles.acquisition.rule``) says which spend pays for which customer. The
spend is divided equally among the customers acquired in the same cell:

- ``campaign``: a campaign's whole spend, over the customers whose first touch it was;
- ``campaign_month``: a campaign's spend in one month, over its first touches that month;
- ``channel_month``: a marketing channel's spend in one month, over the first touches of
  that channel that month;
- ``month``: all spend of a month (blended CAC), over the customers whose first purchase
  fell in that month;
- ``auto``: the finest rule the data supports (spend rows that all name a campaign, then
  all a channel, then months alone).

Spend tables are small (a row per campaign, channel and month), so the division is done
here in Python; the per-person join stays in the engine. Spend that reaches no acquired
customer (a campaign that won nobody) is reported, never spread onto others.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

log = logging.getLogger(__name__)

CELLS_TABLE = "_acquisition_cells"
KEYS = {
    "campaign": ("campaign_id",),
    "campaign_month": ("campaign_id", "month_index"),
    "channel_month": ("channel", "month_index"),
    "month": ("month_index",),
}
_ISO_MONTH = re.compile(r"^\s*(\d{4})[-/.](\d{1,2})(?:\D|$)")
_MONTH_YEAR = re.compile(r"^\s*(\d{1,2})[-/.](\d{4})\s*$")


def month_index(text: Any) -> int | None:
    """'2025-03', '2025-03-01', '2025/3' or '03/2025' as year * 12 + month; None otherwise."""
    if text is None or (isinstance(text, float) and text != text):
        return None
    s = str(text)
    if m := _ISO_MONTH.match(s):
        year, month = int(m.group(1)), int(m.group(2))
    elif m := _MONTH_YEAR.match(s):
        month, year = int(m.group(1)), int(m.group(2))
    else:
        return None
    return year * 12 + month if 1 <= month <= 12 else None


def _sql_month(ts: str) -> str:
    return f"(year({ts}) * 12 + month({ts}))"


@dataclass(frozen=True)
class AcquisitionReport:
    rule: str  # the rule applied (auto resolved), or "" when no cost could be computed
    spend: float  # total spend read
    unattributed: float  # spend of cells that acquired nobody
    unreadable_months: tuple[str, ...] = ()


def choose_rule(rule: str, spend: pd.DataFrame, touches: bool, purchases: bool) -> str:
    """The rule to apply; '' when the data supports none.

    A rule applies when some spend rows carry its keys (the rest reach nobody and are
    reported); ``auto`` prefers, in order, a rule whose keys every spend row carries.
    """
    needs = {
        "campaign_month": (touches, ["campaign_id", "month_index"]),
        "campaign": (touches, ["campaign_id"]),
        "channel_month": (touches, ["channel", "month_index"]),
        "month": (purchases, ["month_index"]),
    }

    def carried(candidate: str) -> pd.Series:
        available, keys = needs[candidate]
        return spend[keys].notna().all(axis=1) & available

    if rule != "auto":
        return rule if carried(rule).any() else ""
    for test in (pd.Series.all, pd.Series.any):
        for candidate in needs:
            if len(spend) and test(carried(candidate)):
                return candidate
    return ""


def acquisition_query(
    engine: Any,
    rule: str,
    linked: Callable[[str, str], str | None],
    plain: Callable[[str, str], str | None],
    purchases: str | None,
) -> tuple[str | None, AcquisitionReport | None]:
    """SQL of (person_id, acquisition_channel, acquisition_cost), and what was attributed."""
    touch_rows = linked("first_touch", "r.campaign_id, r.channel, r.touch_ts")
    first = None
    if touch_rows:
        first = f"""SELECT person_id, arg_min(campaign_id, touch_ts) AS campaign_id,
            arg_min(channel, touch_ts) AS acquisition_channel,
            {_sql_month("min(touch_ts)")} AS month_index
            FROM ({touch_rows}) GROUP BY person_id"""
    spend_rows = plain("marketing_spend", "month, channel, campaign_id, spend")
    if spend_rows is None:
        if first is None:
            return None, None
        return (
            "SELECT person_id, acquisition_channel, CAST(NULL AS DOUBLE) AS acquisition_cost "
            f"FROM ({first})",
            None,
        )
    spend = engine.fetch_df(
        f"""SELECT month, channel, campaign_id, sum(spend) AS spend
        FROM ({spend_rows}) GROUP BY month, channel, campaign_id"""
    )
    months = [month_index(m) for m in spend["month"]]
    spend["month_index"] = pd.array(months, dtype="Int64")
    unreadable = tuple(
        sorted({str(m) for m, i in zip(spend["month"], months, strict=True) if i is None})
    )
    if unreadable:
        log.warning(
            "marketing_spend: %d month value(s) are not a year and month (%s); their spend "
            "is left out of months",
            len(unreadable),
            ", ".join(unreadable[:5]),
        )
    total = float(spend["spend"].sum())
    chosen = choose_rule(rule, spend, first is not None, purchases is not None)
    if not chosen:
        if rule != "auto":
            log.warning(
                "profiles.acquisition.rule '%s' needs data this workspace lacks "
                "(see docs/profiles.md); acquisition cost is left empty",
                rule,
            )
        report = AcquisitionReport("", total, total, unreadable)
        if first is None:
            return None, report
        return (
            "SELECT person_id, acquisition_channel, CAST(NULL AS DOUBLE) AS acquisition_cost "
            f"FROM ({first})",
            report,
        )
    keys = list(KEYS[chosen])
    if chosen == "month":
        # Blended: a customer is acquired in the month of the first purchase.
        acquired_sql = f"""SELECT person_id, {_sql_month("min(ts)")} AS month_index
            FROM ({purchases}) GROUP BY person_id"""
        persons = (
            f"""SELECT a.person_id, f.acquisition_channel, a.month_index
            FROM ({acquired_sql}) a LEFT JOIN ({first}) f USING (person_id)"""
            if first
            else f"""SELECT person_id, CAST(NULL AS VARCHAR) AS acquisition_channel,
                month_index FROM ({acquired_sql})"""
        )
    else:
        persons = f"SELECT *, acquisition_channel AS channel FROM ({first})"
    key_list = ", ".join(keys)
    acquired = engine.fetch_df(
        f"SELECT {key_list}, count(*) AS customers FROM ({persons}) "
        f"WHERE {' AND '.join(f'{k} IS NOT NULL' for k in keys)} GROUP BY {key_list}"
    )
    cells, unattributed = _cost_per_customer(spend, acquired, keys)
    _write_cells(engine, cells, keys)
    report = AcquisitionReport(chosen, total, unattributed, unreadable)
    log.info(
        "acquisition cost by rule %s: %.2f of %.2f spend reaches no acquired customer",
        chosen,
        unattributed,
        total,
    )
    on = " AND ".join(f"p.{k} = c.{k}" for k in keys)
    sql = f"""SELECT p.person_id, p.acquisition_channel, c.cost AS acquisition_cost
        FROM ({persons}) p LEFT JOIN {CELLS_TABLE} c ON {on}"""
    return sql, report


def _cost_per_customer(
    spend: pd.DataFrame, acquired: pd.DataFrame, keys: list[str]
) -> tuple[pd.DataFrame, float]:
    """One row per acquired cell with its cost per customer, and the spend no one got.

    A campaign cell without spend cost nothing (an unpaid campaign); a month outside the
    months the spend table covers is unknown (NULL), inside it a month without spend is 0.
    """
    spend, acquired = _keyed(spend, keys), _keyed(acquired, keys)
    usable = spend.dropna(subset=keys)
    paid = usable.groupby(keys)["spend"].sum().rename("spend").reset_index()
    cells = acquired.merge(paid, on=keys, how="left")
    unattributed = float(spend["spend"].sum()) - float(cells["spend"].fillna(0).sum())
    cells["cost"] = cells["spend"].fillna(0) / cells["customers"]
    if "month_index" in keys:
        known = spend["month_index"].dropna()
        if len(known):
            outside = ~cells["month_index"].between(known.min(), known.max())
            cells.loc[outside, "cost"] = None
        else:
            cells["cost"] = None
    return cells[[*keys, "cost"]], round(unattributed, 2)


def _keyed(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Key columns in one dtype on both sides of the merge (SQL ints vs parsed months)."""
    out = frame.copy()
    for k in keys:
        out[k] = out[k].astype("Int64") if k == "month_index" else out[k].astype(object)
    return out


def _write_cells(engine: Any, cells: pd.DataFrame, keys: list[str]) -> None:
    types = {"campaign_id": "VARCHAR", "channel": "VARCHAR", "month_index": "BIGINT"}
    arrow = {"campaign_id": pa.string(), "channel": pa.string(), "month_index": pa.int64()}
    columns = ", ".join(f"CAST(NULL AS {types[k]}) AS {k}" for k in keys)
    engine.create_table(
        CELLS_TABLE,
        f"SELECT {columns}, CAST(NULL AS DOUBLE) AS cost FROM golden_record WHERE 1 = 0",
    )
    if len(cells):
        data = {k: pa.array([None if pd.isna(v) else v for v in cells[k]], arrow[k]) for k in keys}
        data["cost"] = pa.array(
            [None if pd.isna(c) else float(c) for c in cells["cost"]], pa.float64()
        )
        engine.append_arrow(CELLS_TABLE, pa.table(data))
