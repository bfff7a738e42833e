"""Write the demo company "Northwind Living" (see docs/demo-data.md)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ._arrow import DAYS, T0, fixed_ids, iso, strings, take, to_date
from ._commerce import ChannelMove, make_commerce
from ._digital import make_email_events, make_events
from ._people import People, crm_records, loyalty_records, make_people
from ._pools import ACQ_CAMPAIGNS, Pools, build_pools
from ._sinks import SOURCES, TRUTH, Sinks
from ._types import CATEGORIES, CATEGORY_MARGINS, CHANNELS, LATENT_TYPES, TYPE_NAMES
from ._voice import make_reviews, make_surveys, make_tickets

CHUNK = 50_000  # persons per chunk; fixed, because the chunking is part of the seed's output
MIN_CUSTOMERS, MAX_CUSTOMERS = 100, 5_000_000
MONTHS = 36
Progress = Callable[[str, float], None]
QUARTER_START = dt.date(2025, 10, 1)  # the planned shift's quarter: 2025-10-01 .. 2025-12-31


@dataclass(frozen=True)
class Shift:
    """A planned change in the demo company's last quarter (2025-10-01 to 2025-12-31).

    ``grows`` gets ``growth`` times its usual number of newcomers in that quarter; from its
    first day ``moves`` makes ``moved_share`` of the purchases it would have made in channel
    ``channel_from`` in ``channel_to``. The persons are those the same seed gives without
    a shift (their records are drawn anew, so they differ in detail from the unshifted
    demo); ``quarter1/sources`` is exactly these sources cut at the quarter's first day."""

    grows: str = "affluent_professionals"
    growth: float = 6.0
    moves: str = "store_loyalists"
    channel_from: str = "store"
    channel_to: str = "web"
    moved_share: float = 0.9

    def __post_init__(self) -> None:
        for name in (self.grows, self.moves):
            if name not in TYPE_NAMES:
                raise ValueError(f"no latent type {name!r}; the types: {', '.join(TYPE_NAMES)}")
        if self.grows == self.moves:
            raise ValueError("the growing type and the type that changes channel must differ")
        for ch in (self.channel_from, self.channel_to):
            if ch not in CHANNELS:
                raise ValueError(f"no channel {ch!r}; the channels: {', '.join(CHANNELS)}")
        if self.channel_from == self.channel_to or self.channel_to == "app":
            # the app needs an account, which many of a type may lack
            raise ValueError("channel_to must be another channel than channel_from, not app")
        if not (self.growth >= 1 and 0 < self.moved_share <= 1):
            raise ValueError("growth must be at least 1 and moved_share in (0, 1]")

    @property
    def first_day(self) -> int:
        return (QUARTER_START - dt.date(2023, 1, 1)).days

    def newcomers(self, customers: int) -> int:
        """Extra persons of ``grows`` who become customers in the quarter: (growth - 1) x
        the type's share x the customers whose first day falls in it."""
        t = LATENT_TYPES[TYPE_NAMES.index(self.grows)]
        in_quarter = (DAYS - 10 - self.first_day) / (DAYS - 10)
        return round((self.growth - 1) * t.share * customers * in_quarter)

    def move(self) -> ChannelMove:
        return ChannelMove(
            day=self.first_day,
            type_id=TYPE_NAMES.index(self.moves),
            source=CHANNELS.index(self.channel_from),
            target=CHANNELS.index(self.channel_to),
            share=self.moved_share,
        )


@dataclass(frozen=True)
class DemoSummary:
    """What generate_demo_company wrote; rows maps each file name to its row count."""

    out_dir: Path
    customers: int
    seed: int
    rows: Mapping[str, int]


def generate_demo_company(
    out_dir: str | Path,
    *,
    customers: int = 20_000,
    seed: int = 42,
    progress: Progress | None = None,
    overwrite: bool = False,
    shift: Shift | None = None,
) -> DemoSummary:
    """Generate `customers` persons and everything the company knows about them.

    The same seed (and customers) gives byte-identical files. progress(step, fraction) is
    called with steps "reference", "customers" and "marketing". With a ``shift`` the last
    quarter holds the planned change (its newcomers come after the `customers` persons),
    ``truth/shift.json`` records it, and ``quarter1/`` holds the sources as they were the
    day before that quarter (:func:`cut_sources`): the company three months earlier.
    """
    out = Path(out_dir)
    _check(out, customers, seed, overwrite)
    report = progress or (lambda _step, _frac: None)
    pools = build_pools(seed)
    sinks = Sinks(out)
    _write_reference(sinks, pools)
    report("reference", 1.0)
    counters = {
        k: 0
        for k in (
            "crm",
            "account",
            "card",
            "order",
            "receipt",
            "email_event",
            "ticket",
            "review",
            "survey",
        )
    }
    acquired = np.zeros((len(ACQ_CAMPAIGNS), MONTHS))
    used_emails: set[str] = set()
    n_chunks = -(-customers // CHUNK)
    report("customers", 0.0)
    for c in range(n_chunks):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(c,)))
        n = min(CHUNK, customers - c * CHUNK)
        _chunk(rng, sinks, pools, c * CHUNK, n, counters, used_emails, acquired, shift)
        report("customers", (c + 1) / n_chunks)
    extra = shift.newcomers(customers) if shift else 0
    if shift and extra:
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(10**6 + 2,)))
        _chunk(rng, sinks, pools, customers, extra, counters, used_emails, acquired, shift, True)
    _write_spend(sinks, acquired, seed)
    sinks.close()
    if shift:
        record = {
            "quarter": [QUARTER_START.isoformat(), "2025-12-31"],
            **asdict(shift),
            "newcomers_added": extra,
            "quarter1": "quarter1/sources: the sources as of the quarter's first day",
        }
        (out / "truth" / "shift.json").write_text(json.dumps(record, indent=2) + "\n")
        cut_sources(out / "sources", out / "quarter1" / "sources", QUARTER_START)
    report("marketing", 1.0)
    rows = {name: sinks.rows.get(name, 0) for name in [*SOURCES, *TRUTH]}  # contract order
    return DemoSummary(out, customers, seed, MappingProxyType(rows))


# The column that dates each row of a source (order lines follow their order).
_DATED = {
    "crm_customers.csv": "signup_date",
    "loyalty_members.csv": "joined_date",
    "orders.parquet": "order_ts",
    "pos_receipts.parquet": "receipt_ts",
    "events.jsonl": "timestamp",
    "email_campaigns.csv": "sent_date",
    "email_events.csv": "event_ts",
    "marketing_spend.csv": "month",
    "first_touch.csv": "touch_ts",
    "support_tickets.csv": "created_ts",
    "reviews.csv": "created_ts",
    "survey_responses.csv": "submitted_ts",
}


def cut_sources(src: Path, dst: Path, before: dt.date) -> None:
    """Copy the demo sources in ``src`` to ``dst`` keeping only what existed before
    ``before``: rows dated earlier (CSV and JSON lines byte for byte), order lines of
    the orders kept, every product."""
    dst.mkdir(parents=True, exist_ok=True)
    day, month = before.isoformat(), before.isoformat()[:7]
    kept_orders: pa.Array | None = None
    for name in SOURCES:
        path, target = src / name, dst / name
        col = _DATED.get(name)
        if name == "order_lines.parquet":
            continue  # after orders
        if col is None:
            shutil.copyfile(path, target)
        elif name.endswith(".parquet"):
            table = pq.read_table(path)
            ts = pa.scalar(dt.datetime.combine(before, dt.time()), table.schema.field(col).type)
            table = table.filter(pc.less(table.column(col), ts))
            pq.write_table(table, target, compression="zstd")
            if name == "orders.parquet":
                kept_orders = table.column("order_id").combine_chunks()
        elif name.endswith(".jsonl"):
            with open(path, encoding="utf-8") as f, open(target, "w", encoding="utf-8") as g:
                g.writelines(line for line in f if json.loads(line)[col] < day)
        else:
            limit = month if col == "month" else day
            with (
                open(path, encoding="utf-8", newline="") as f,
                open(target, "w", encoding="utf-8", newline="") as g,
            ):
                header = f.readline()
                g.write(header)
                at = next(csv.reader([header])).index(col)
                g.writelines(line for line in f if next(csv.reader([line]))[at] < limit)
    lines = pq.read_table(src / "order_lines.parquet")
    assert kept_orders is not None
    lines = lines.filter(pc.is_in(lines.column("order_id"), value_set=kept_orders))
    pq.write_table(lines, dst / "order_lines.parquet", compression="zstd")


def _check(out: Path, customers: int, seed: int, overwrite: bool) -> None:
    if not isinstance(customers, int) or not MIN_CUSTOMERS <= customers <= MAX_CUSTOMERS:
        raise ValueError(
            f"customers must be an integer from {MIN_CUSTOMERS} to "
            f"{MAX_CUSTOMERS:,}, got {customers!r}"
        )
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} exists and is not a directory")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise ValueError(
                f"{out} is not empty; choose an empty directory or pass overwrite=True"
            )
        for sub in ("sources", "truth", "quarter1"):
            shutil.rmtree(out / sub, ignore_errors=True)


def _unit_costs(pools: Pools) -> np.ndarray:
    """Price less the category's margin, varied by up to 5 points per product (drawn from
    no random stream, so adding costs changed no other generated value)."""
    margin = np.array(CATEGORY_MARGINS)[pools.product_cat]
    wobble = 0.05 * np.sin(np.arange(len(pools.product_cat)) * 1.7)
    return np.round(np.asarray(pools.product_price) * (1 - margin - wobble), 2)


def _write_reference(sinks: Sinks, pools: Pools) -> None:
    sinks.write(
        "products.csv",
        pa.table(
            {
                "product_id": strings(pools.product_id),
                "product_name": strings(pools.product_name),
                "category": take(CATEGORIES, pools.product_cat),
                "price": pools.product_price,
                "unit_cost": _unit_costs(pools),
            }
        ),
    )
    sinks.write(
        "email_campaigns.csv",
        pa.table(
            {
                "campaign_id": strings(pools.campaign_id),
                "name": strings(pools.campaign_name),
                "theme": strings(pools.campaign_theme),
                "sent_date": to_date(pools.campaign_day),
            }
        ),
    )


def _records(source: str, ids: pa.Array, person_ids: pa.Array) -> pa.Table:
    return pa.table(
        {
            "source": pa.array([source] * len(ids), pa.string()),
            "record_id": ids,
            "person_id": person_ids,
        }
    )


def _chunk(
    rng: np.random.Generator,
    sinks: Sinks,
    pools: Pools,
    offset: int,
    n: int,
    counters: dict[str, int],
    used_emails: set[str],
    acquired: np.ndarray,
    shift: Shift | None = None,
    newcomers: bool = False,
) -> None:
    if newcomers and shift:
        p = make_people(
            rng,
            pools,
            offset,
            n,
            counters,
            used_emails,
            only_type=TYPE_NAMES.index(shift.grows),
            first_day=shift.first_day,
        )
    else:
        p = make_people(rng, pools, offset, n, counters, used_emails)
    pid = fixed_ids("P", p.pnum, 8)

    def person(idx: np.ndarray) -> pa.Array:
        return pid.take(pa.array(np.asarray(idx, dtype=np.int64)))

    sinks.write(
        "persons.parquet",
        pa.table(
            {
                "person_id": pid,
                "type_id": pa.array(p.type_id, pa.int32()),
                "type": take(TYPE_NAMES, p.type_id),
            }
        ),
    )
    crm, crm_idx, primary = crm_records(rng, p, counters)
    sinks.write("crm_customers.csv", crm)
    truth = [_records("crm_customers", crm.column("customer_id").combine_chunks(), person(crm_idx))]
    _first_touch(rng, sinks, p, crm, crm_idx, primary, acquired)
    loyalty, loy_idx = loyalty_records(rng, p)
    sinks.write("loyalty_members.csv", loyalty)
    truth.append(
        _records("loyalty_members", loyalty.column("card_number").combine_chunks(), person(loy_idx))
    )
    com = make_commerce(rng, p, pools, counters, shift.move() if shift else None)
    sinks.write("orders.parquet", com.orders)
    sinks.write("order_lines.parquet", com.lines)
    sinks.write("pos_receipts.parquet", com.receipts)
    truth.append(
        _records("orders", com.orders.column("order_id").combine_chunks(), person(com.order_person))
    )
    truth.append(_records("pos_receipts", com.receipt_ids, person(com.receipt_person)))

    data, mids, ev_person, users = make_events(rng, p, pools)
    sinks.write_bytes("events.jsonl", data, len(mids))
    truth.append(_records("events", mids, person(ev_person)))
    seen = pa.concat_arrays([com.orders.column("account_id").combine_chunks(), users])
    ee, ee_person = make_email_events(rng, p, pools, crm, crm_idx, counters)
    sinks.write("email_events.csv", ee)
    truth.append(
        _records("email_events", ee.column("event_id").combine_chunks(), person(ee_person))
    )
    for name, id_col, (table, who) in (
        ("support_tickets", "ticket_id", make_tickets(rng, p, pools, com, counters)),
        ("reviews", "review_id", make_reviews(rng, p, pools, com, counters)),
        ("survey_responses", "response_id", make_surveys(rng, p, pools, counters)),
    ):
        sinks.write(f"{name}.csv", table)
        truth.append(_records(name, table.column(id_col).combine_chunks(), person(who)))
        if name == "reviews":
            seen = pa.concat_arrays([seen, table.column("account_id").combine_chunks()])
    truth.append(_accounts(p, seen, person))
    sinks.write("records.parquet", pa.concat_tables(truth))


def _accounts(p: People, seen: pa.Array, person: Callable[[np.ndarray], pa.Array]) -> pa.Table:
    """Web-shop accounts have no file of their own: list those that orders, events or reviews
    mention (an account nobody used leaves no trace)."""
    ids = np.concatenate([p.accounts[:, 0], p.accounts[:, 1]])
    owner = np.concatenate([np.arange(p.n), np.arange(p.n)])
    keep = np.flatnonzero(
        pc.is_in(strings(ids), value_set=pc.unique(seen.drop_null())).to_numpy(zero_copy_only=False)
    )
    return _records("shop_accounts", strings(ids[keep]), person(owner[keep]))


def _first_touch(
    rng: np.random.Generator,
    sinks: Sinks,
    p: People,
    crm: pa.Table,
    crm_idx: np.ndarray,
    primary: np.ndarray,
    acquired: np.ndarray,
) -> None:
    """Tracked first touches of primary CRM records (~10% untracked); counts feed the spend."""
    rows = np.flatnonzero(primary & (rng.random(len(primary)) < 0.9))
    who = crm_idx[rows]
    camp = p.acq_campaign[who]
    touch = np.maximum(p.start[who] * 86400 - rng.integers(0, 14 * 86400, len(rows)), 0)
    month = (touch // 86400).astype("timedelta64[D]") + T0.astype("datetime64[D]")
    mi = month.astype("datetime64[M]").astype(np.int64) - T0.astype("datetime64[M]").astype(
        np.int64
    )
    np.add.at(acquired, (camp, np.clip(mi, 0, MONTHS - 1)), 1)
    sinks.write(
        "first_touch.csv",
        pa.table(
            {
                "customer_id": crm.column("customer_id").take(pa.array(rows)),
                "campaign_id": take([c[0] for c in ACQ_CAMPAIGNS], camp),
                "channel": take([c[1] for c in ACQ_CAMPAIGNS], camp),
                "touch_ts": iso(touch),
            }
        ),
    )


def _write_spend(sinks: Sinks, acquired: np.ndarray, seed: int) -> None:
    """Spend = customers acquired x the campaign's cost per acquisition, with monthly noise."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(10**6 + 1,)))
    cac = np.array([c[2] for c in ACQ_CAMPAIGNS])
    spend = np.round(acquired * cac[:, None] * rng.lognormal(0.0, 0.15, acquired.shape), 2)
    months = np.arange(MONTHS) + T0.astype("datetime64[M]")
    grid = np.meshgrid(np.arange(len(ACQ_CAMPAIGNS)), np.arange(MONTHS), indexing="ij")
    ci, mi = grid[0].ravel(), grid[1].ravel()
    sinks.write(
        "marketing_spend.csv",
        pa.table(
            {
                "month": strings(months.astype(str)[mi]),
                "channel": take([c[1] for c in ACQ_CAMPAIGNS], ci),
                "campaign_id": take([c[0] for c in ACQ_CAMPAIGNS], ci),
                "spend": spend[ci, mi],
            }
        ),
    )
