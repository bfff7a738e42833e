"""Behavioral attributes: purchase rhythm and habits, web sessions and devices, e-mail
unsubscribes, recent support contacts, engagement level and lifecycle stage.

Each group is one CTE of the profile query (``Group``), over the purchases query of
build.py or the linked rows of one source kind. A group whose source kind is not loaded
still gives its columns, empty (typed NULLs), so the profiles table has the same columns
for every company and the catalogue (features.py) can say "empty without a source".

Portable SQL only (tests/engine/test_portability.py): the weekday is the number of days
since a known Monday (1900-01-01) modulo 7 through the engine's ``days_between``, not a
DuckDB date function, and the hour comes from ``EXTRACT``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from personify.config import ProfilesConfig
    from personify.engine._base import Engine
    from personify.workspace import Workspace

SESSION_GAP_MINUTES = 30  # a new web session after this long without an event (GA's rule)
PRODUCT_VIEWED = "Product Viewed"  # Segment's e-commerce spec name of the event
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Parts of the day by local hour: [start, end) hours, in the order ties are broken.
DAYPARTS = (("morning", 5, 12), ("afternoon", 12, 17), ("evening", 17, 22), ("night", 22, 29))
LIFECYCLE_STAGES = ("new", "active", "reactivated", "at risk", "lapsed")
ENGAGEMENT_LEVELS = ("none", "low", "medium", "high")

# Every column this module adds, with its type when its source is missing.
COLUMNS: dict[str, str] = {
    "interpurchase_days_mean": "DOUBLE",
    "interpurchase_days_median": "DOUBLE",
    "weekday_favourite": "VARCHAR",
    "weekend_share": "DOUBLE",
    "daypart_favourite": "VARCHAR",
    "web_sessions": "BIGINT",
    "product_views": "BIGINT",
    "main_device": "VARCHAR",
    "email_unsubscribed": "BOOLEAN",
    "tickets_12m": "BIGINT",
    "engagement_touches": "BIGINT",
    "engagement_level": "VARCHAR",
    "lifecycle_stage": "VARCHAR",
}


@dataclass
class Group:
    """One CTE of the profile query and the columns the final SELECT takes from it."""

    name: str
    body: str
    columns: list[str]


@dataclass
class Behavior:
    """The CTEs and the SELECT expressions of the behavioral attributes."""

    groups: list[Group] = field(default_factory=list)
    select: list[str] = field(default_factory=list)


def _null(column: str) -> str:
    return f"CAST(NULL AS {COLUMNS[column]}) AS {column}"


def _pick_mode(rows: str, value: str, alias: str) -> str:
    """Per person the most frequent ``value`` of ``rows`` (person_id, value, ts); ties go
    to the value seen last, then the smallest."""
    return f"""SELECT person_id, {value} AS {alias} FROM (
        SELECT person_id, {value}, row_number() OVER (
            PARTITION BY person_id ORDER BY n DESC, latest DESC, {value}) AS k
        FROM (SELECT person_id, {value}, count(*) AS n, max(ts) AS latest FROM ({rows}) m
              WHERE {value} IS NOT NULL GROUP BY person_id, {value}) c) r
        WHERE k = 1"""


def weekday_sql(engine: Engine, day: str) -> str:
    """0 = Monday ... 6 = Sunday: days since Monday 1900-01-01 modulo 7 (dates from 1900
    on, as ingest checks, so the remainder is never negative)."""
    monday = "DATE '1900-01-01'"
    return f"({engine.days_between(monday, day)}) % 7"


def daypart_sql(hour: str) -> str:
    cases = " ".join(
        f"WHEN {hour} >= {lo} AND {hour} < {hi} THEN '{name}'" for name, lo, hi in DAYPARTS[:-1]
    )
    return f"CASE {cases} ELSE '{DAYPARTS[-1][0]}' END"


class BehaviorBuilder:
    def __init__(
        self,
        workspace: Workspace,
        settings: ProfilesConfig,
        as_of: dt.date,
        linked: Callable[[str, str], str | None],
    ) -> None:
        self.workspace = workspace
        self.engine = workspace.engine
        self.settings = settings
        self.as_of = as_of
        self._linked = linked  # ProfileBuilder._linked(kind, columns) -> SQL | None

    def _window_start(self, days: int) -> str:
        return f"TIMESTAMP '{self.as_of}' - INTERVAL {int(days)} DAY"

    def build(self, purchases: str | None, local: str) -> Behavior:
        """``purchases``: the purchases query (person_id, ts, amount, channel, discounted,
        timed); ``local``: SQL of ``ts`` in local time (the engine's conversion, or ts)."""
        out = Behavior()
        touches: list[str] = []
        if purchases:
            self._purchases(out, local)
            touches.append("touches_buy")
        else:
            out.select += [
                _null(c)
                for c in (
                    "interpurchase_days_mean",
                    "interpurchase_days_median",
                    "weekday_favourite",
                    "weekend_share",
                    "daypart_favourite",
                )
            ]
        if self._web(out):
            touches.append("touches_web")
        if self._mail(out):
            touches.append("touches_mail")
        self._support(out)
        if touches:
            total = " + ".join(f"coalesce({t}, 0)" for t in touches)
            s = self.settings.engagement
            out.select += [
                f"{total} AS engagement_touches",
                f"""CASE WHEN {total} >= {s.high} THEN 'high'
                    WHEN {total} >= {s.medium} THEN 'medium'
                    WHEN {total} >= 1 THEN 'low' ELSE 'none' END AS engagement_level""",
            ]
        else:
            out.select += [_null("engagement_touches"), _null("engagement_level")]
        out.select.append(self._lifecycle() if purchases else _null("lifecycle_stage"))
        return out

    # -- purchases: rhythm and habits ------------------------------------------------------
    def _purchases(self, out: Behavior, local: str) -> None:
        e = self.engine
        # Distinct purchase days (as CLV counts them) and the gap before each.
        out.groups.append(
            Group(
                "pdays",
                f"""SELECT person_id, d, {e.days_between("prev_d", "d")} AS gap FROM (
                    SELECT person_id, d, lag(d) OVER (PARTITION BY person_id ORDER BY d)
                      AS prev_d
                    FROM (SELECT DISTINCT person_id, CAST(ts AS DATE) AS d FROM purchases
                          WHERE ts IS NOT NULL) u) g""",
                [],
            )
        )
        out.groups.append(
            Group(
                "rhythm",
                """SELECT person_id, avg(gap) AS interpurchase_days_mean,
                    median(gap) AS interpurchase_days_median,
                    arg_max(gap, d) AS last_gap_days
                FROM pdays GROUP BY person_id""",
                ["interpurchase_days_mean", "interpurchase_days_median"],
            )
        )
        weekday = weekday_sql(e, f"CAST({local} AS DATE)")
        habits = f"""SELECT person_id, ts, timed, {weekday} AS wd,
            EXTRACT(HOUR FROM {local}) AS hr FROM purchases WHERE ts IS NOT NULL"""
        out.groups.append(Group("habit_rows", habits, []))
        names = " ".join(f"WHEN {i} THEN '{d}'" for i, d in enumerate(WEEKDAYS))
        out.groups.append(
            Group(
                "habits",
                """SELECT person_id,
                    avg(CASE WHEN wd >= 5 THEN 1 ELSE 0 END) AS weekend_share
                FROM habit_rows GROUP BY person_id""",
                ["round(weekend_share, 6) AS weekend_share"],
            )
        )
        fav_wd = _pick_mode("SELECT person_id, wd, ts FROM habit_rows", "wd", "fav_wd")
        out.groups.append(
            Group(
                "weekday_fav",
                fav_wd,
                [f"CASE fav_wd {names} END AS weekday_favourite"],
            )
        )
        parts = f"SELECT person_id, {daypart_sql('hr')} AS part, ts FROM habit_rows WHERE timed"
        out.groups.append(
            Group(
                "daypart_fav",
                _pick_mode(parts, "part", "daypart_favourite"),
                ["daypart_favourite"],
            )
        )

    # -- web and app events ----------------------------------------------------------------
    def _web(self, out: Behavior) -> bool:
        events = self._linked("events", "r.timestamp AS ts, r.type, r.event, r.device")
        if not events:
            out.select += [_null(c) for c in ("web_sessions", "product_views", "main_device")]
            return False
        gap = f"INTERVAL {SESSION_GAP_MINUTES} MINUTE"
        out.groups.append(
            Group(
                "ev",
                f"""SELECT person_id, ts, type, event, lower(device) AS device,
                    CASE WHEN prev_ts IS NULL OR ts > prev_ts + {gap} THEN 1 ELSE 0 END
                      AS new_session
                FROM (SELECT person_id, ts, type, event, device,
                        lag(ts) OVER (PARTITION BY person_id ORDER BY ts) AS prev_ts
                      FROM ({events}) x WHERE ts IS NOT NULL) s""",
                [],
            )
        )
        start = self._window_start(self.settings.engagement.window_days)
        out.groups.append(
            Group(
                "web",
                f"""SELECT person_id, count(*) AS web_events,
                    sum(new_session) AS web_sessions,
                    count(*) FILTER (WHERE type = 'track' AND event = '{PRODUCT_VIEWED}')
                      AS product_views,
                    sum(CASE WHEN new_session = 1 AND ts >= {start} AND ts < TIMESTAMP
                      '{self.as_of}' THEN 1 ELSE 0 END) AS touches_web
                FROM ev GROUP BY person_id""",
                [
                    "coalesce(web_events, 0) AS web_events",
                    "coalesce(web_sessions, 0) AS web_sessions",
                    "coalesce(product_views, 0) AS product_views",
                ],
            )
        )
        out.groups.append(
            Group(
                "device",
                _pick_mode("SELECT person_id, device, ts FROM ev", "device", "main_device"),
                ["main_device"],
            )
        )
        return True

    # -- e-mail ----------------------------------------------------------------------------
    def _mail(self, out: Behavior) -> bool:
        email = self._linked("email_events", "r.campaign_id, r.event_type, r.event_ts")
        if not email:
            out.select.append(_null("email_unsubscribed"))
            return False
        start = self._window_start(self.settings.engagement.window_days)
        out.groups.append(
            Group(
                "mail",
                f"""SELECT person_id,
                  count(DISTINCT campaign_id) FILTER (WHERE event_type = 'opened')
                    / nullif(count(DISTINCT campaign_id) FILTER (WHERE event_type = 'sent'), 0)
                    AS email_open_rate,
                  count(DISTINCT campaign_id) FILTER (WHERE event_type = 'clicked')
                    / nullif(count(DISTINCT campaign_id) FILTER (WHERE event_type = 'sent'), 0)
                    AS email_click_rate,
                  max(CASE WHEN event_type = 'unsubscribed' THEN 1 ELSE 0 END) = 1
                    AS email_unsubscribed,
                  count(DISTINCT campaign_id) FILTER (WHERE event_type = 'clicked'
                    AND event_ts >= {start} AND event_ts < TIMESTAMP '{self.as_of}')
                    AS touches_mail
                FROM ({email}) m GROUP BY person_id""",
                ["email_open_rate", "email_click_rate", "email_unsubscribed"],
            )
        )
        return True

    # -- support ---------------------------------------------------------------------------
    def _support(self, out: Behavior) -> None:
        tickets = self._linked("support_tickets", "r.satisfaction, r.created_ts")
        if not tickets:
            out.select.append(_null("tickets_12m"))
            return
        start = self._window_start(365)
        out.groups.append(
            Group(
                "support",
                f"""SELECT person_id, count(*) AS tickets,
                    count(*) FILTER (WHERE created_ts >= {start}
                      AND created_ts < TIMESTAMP '{self.as_of}') AS tickets_12m,
                    avg(satisfaction) AS avg_satisfaction
                FROM ({tickets}) t GROUP BY person_id""",
                [
                    "coalesce(tickets, 0) AS tickets",
                    "coalesce(tickets_12m, 0) AS tickets_12m",
                    "avg_satisfaction",
                ],
            )
        )

    # -- lifecycle -------------------------------------------------------------------------
    def _lifecycle(self) -> str:
        """The stage from recency, tenure and the gap before the last purchase day (rules
        in docs/profiles.md); empty for persons without a purchase."""
        s = self.settings.lifecycle
        as_of = f"TIMESTAMP '{self.as_of}'"
        recency = self.engine.days_between("b.last_ts", as_of)
        tenure = self.engine.days_between("b.first_ts", as_of)
        return f"""CASE WHEN b.last_ts IS NULL THEN NULL
            WHEN {recency} > {s.lapsed_days} THEN 'lapsed'
            WHEN {recency} > {s.at_risk_days} THEN 'at risk'
            WHEN {tenure} <= {s.new_days} THEN 'new'
            WHEN last_gap_days > {s.lapsed_days} THEN 'reactivated'
            ELSE 'active' END AS lifecycle_stage"""


def has_time_of_day(engine: Engine, source: str, column: str) -> bool:
    """Whether any value of ``column`` has a time of day (a date-only export has none)."""
    sql = (
        f"SELECT count(*) > 0 FROM (SELECT 1 FROM raw_{source} WHERE {column} <> "
        f"CAST(CAST({column} AS DATE) AS TIMESTAMP) LIMIT 1) t"
    )
    return bool(engine.scalar(sql))
