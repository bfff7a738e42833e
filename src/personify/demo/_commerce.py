"""Purchases: web-shop/app orders with their lines, and in-store receipts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ._arrow import choose, fixed_ids, money, pick, present, strings, to_ts
from ._noise import format_postcodes, vary_emails
from ._people import People
from ._pools import DISCOUNT_CODES, TOWNS, Pools
from ._types import LATENT_TYPES

_ONLINE_HOURS = np.array([1, 1, 0, 0, 0, 0, 1, 2, 3, 3, 3, 4, 5, 4, 4, 4, 4, 5, 6, 8, 9, 9, 7, 4.0])
_STORE = 2


@dataclass
class Commerce:
    orders: pa.Table
    order_person: np.ndarray  # person index per order row
    order_day: np.ndarray
    lines: pa.Table
    line_order: np.ndarray  # order row per line
    receipts: pa.Table  # one row per receipt line
    receipt_ids: pa.Array  # unique receipts that carry a loyalty card
    receipt_person: np.ndarray


def products_for(
    rng: np.random.Generator, pools: Pools, type_id: np.ndarray, catpref: np.ndarray
) -> np.ndarray:
    """A product index per row: category from the person's taste, item from the type's taste."""
    cat = pick(rng, catpref)
    out = np.empty(len(cat), dtype=np.int64)
    u = rng.random(len(cat))
    n_cat = catpref.shape[1]
    for g in np.unique(type_id * n_cat + cat):
        sel = type_id * n_cat + cat == g
        idx, cdf = pools.type_cat_cdf[g]
        out[sel] = idx[np.minimum(np.searchsorted(cdf, u[sel]), len(idx) - 1)]
    return out


def _seconds(rng: np.random.Generator, day: np.ndarray, store: np.ndarray) -> np.ndarray:
    hour_online = rng.choice(24, len(day), p=_ONLINE_HOURS / _ONLINE_HOURS.sum())
    hour = np.where(store, rng.integers(9, 18, len(day)), hour_online)
    return day * 86400 + hour * 3600 + rng.integers(0, 3600, len(day))


@dataclass(frozen=True)
class ChannelMove:
    """From ``day`` on, persons of ``type_id`` make ``share`` of the purchases they would
    have made in channel ``source`` in channel ``target`` instead (0 web, 1 app, 2 store)."""

    day: int
    type_id: int
    source: int
    target: int
    share: float


def make_commerce(
    rng: np.random.Generator,
    p: People,
    pools: Pools,
    counters: dict[str, int],
    move: ChannelMove | None = None,
) -> Commerce:
    tpar = np.array([[t.items_per_basket, t.type_id] for t in LATENT_TYPES])
    years = (p.end - p.start + 1) / 365.0
    n_buy = rng.poisson(p.rate * years) + (rng.random(p.n) < 0.93)
    who = np.repeat(np.arange(p.n), n_buy)
    first = np.r_[True, who[1:] != who[:-1]] if len(who) else np.zeros(0, bool)
    day = np.where(first, p.start[who], rng.integers(p.start[who], p.end[who] + 1))
    mix = p.mix[who]
    if move is not None:  # the same draws: only the probabilities of the moved rows change
        rows = (p.type_id[who] == move.type_id) & (day >= move.day)
        moved = mix[rows, move.source] * move.share
        mix[rows, move.source] -= moved
        mix[rows, move.target] += moved
    channel = pick(rng, mix)
    secs = _seconds(rng, day, channel == _STORE)
    size = 1 + rng.poisson(tpar[p.type_id[who], 0] - 1)
    line_of = np.repeat(np.arange(len(who)), size)
    lw = who[line_of]
    product = products_for(rng, pools, p.type_id[lw], p.catpref[lw])
    qty = 1 + (rng.random(len(lw)) < 0.1) + (rng.random(len(lw)) < 0.02)
    price = pools.product_price[product]
    discounted = rng.random(len(who)) < p.disc_p[who]

    online = channel != _STORE
    on_rows = np.flatnonzero(online)
    buys = _Buys(who, day, secs, channel, discounted, line_of, product, qty, price)
    orders, lines, line_order, order_person, order_day = _orders(
        rng, p, pools, counters, buys, on_rows
    )
    receipts, rids, rperson = _receipts(rng, p, pools, counters, buys, np.flatnonzero(~online))
    return Commerce(orders, order_person, order_day, lines, line_order, receipts, rids, rperson)


@dataclass
class _Buys:
    """All purchases of a chunk (who, when, how) and their lines (line_of -> purchase)."""

    who: np.ndarray
    day: np.ndarray
    secs: np.ndarray
    channel: np.ndarray
    discounted: np.ndarray
    line_of: np.ndarray
    product: np.ndarray
    qty: np.ndarray
    price: np.ndarray


def _time_order(secs: np.ndarray) -> np.ndarray:
    return np.argsort(secs, kind="stable")


def _lines_of(rows: np.ndarray, line_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Line indices belonging to purchases `rows` (in that order) and their row position."""
    pos = np.full(line_of.max() + 1 if len(line_of) else 0, -1)
    pos[rows] = np.arange(len(rows))
    lsel = np.flatnonzero(pos[line_of] >= 0)
    lsel = lsel[np.argsort(pos[line_of[lsel]], kind="stable")]
    return lsel, pos[line_of[lsel]]


def _line_numbers(parent: np.ndarray) -> np.ndarray:
    if not len(parent):
        return parent
    starts = np.r_[0, np.flatnonzero(parent[1:] != parent[:-1]) + 1]
    return np.arange(len(parent)) - np.repeat(starts, np.diff(np.r_[starts, len(parent)])) + 1


def _orders(
    rng: np.random.Generator,
    p: People,
    pools: Pools,
    counters: dict[str, int],
    b: _Buys,
    rows: np.ndarray,
) -> tuple[pa.Table, pa.Table, np.ndarray, np.ndarray, np.ndarray]:
    who, day, secs, line_of, product, qty, price = (
        b.who,
        b.day,
        b.secs,
        b.line_of,
        b.product,
        b.qty,
        b.price,
    )
    rows = rows[_time_order(secs[rows])]  # ids follow time, not person
    m = len(rows)
    pw = who[rows]
    u = rng.random((m, 6))
    tcodes = np.array([c[2] for c in DISCOUNT_CODES], dtype=float).T[p.type_id[pw]]
    code_i = pick(rng, tcodes)
    pct = np.array([c[1] for c in DISCOUNT_CODES])[code_i] / 100.0
    use_code = b.discounted[rows]
    acc = p.accounts[pw]
    use_second = present(acc[:, 1]) & (u[:, 0] < 0.5)
    col = use_second.astype(int)
    account = acc[np.arange(m), col]
    guest = u[:, 1] < 0.06
    account = choose(guest, None, account)
    acc_email = p.account_email[pw][np.arange(m), col]
    other = np.where(present(p.alt_email[pw]) & (u[:, 2] < 0.3), p.alt_email[pw], p.email[pw])
    email = np.where(present(account) & (u[:, 3] < 0.93), acc_email, other)
    email = vary_emails(email, u[:, 4] < 0.03, rng)
    app = (b.channel[rows] == 1) & present(account)
    status = np.where(u[:, 5] < 0.03, "cancelled", "completed")

    lsel, lpos = _lines_of(rows, line_of)
    l_disc = money(price[lsel] * qty[lsel] * np.where(use_code, pct, 0.0)[lpos])
    l_amount = money(price[lsel] * qty[lsel])
    cat = pools.product_cat[product[lsel]]
    ret_p = p.ret_p[who[line_of[lsel]]] * np.where(cat == 5, 1.6, 1.0)  # fashion comes back
    returned = (rng.random(len(lsel)) < ret_p) & (status[lpos] == "completed")
    subtotal = money(np.bincount(lpos, l_amount, m))
    discount = money(np.bincount(lpos, l_disc, m))
    oid = fixed_ids("NW", counters["order"] + np.arange(m), 9)
    counters["order"] += m
    postcode = format_postcodes(
        strings(p.postcode_at(pw, day[rows])), (rng.random(m) < 0.08) * rng.integers(1, 3, m)
    )
    orders = pa.table(
        {
            "order_id": oid,
            "account_id": strings(account),
            "email": strings(email),
            "order_ts": to_ts(secs[rows]),
            "channel": strings(np.where(app, "app", "web")),
            "shipping_postcode": postcode,
            "discount_code": strings(
                choose(
                    use_code, np.array([c[0] for c in DISCOUNT_CODES], dtype=object)[code_i], None
                )
            ),
            "subtotal": subtotal,
            "discount": discount,
            "total": money(subtotal - discount),
            "status": strings(status),
        }
    )
    lines = pa.table(
        {
            "order_id": oid.take(pa.array(lpos)),
            "line_no": pa.array(_line_numbers(lpos), pa.int32()),
            "product_id": strings(pools.product_id[product[lsel]]),
            "quantity": pa.array(qty[lsel], pa.int32()),
            "unit_price": price[lsel],
            "line_discount": l_disc,
            "returned": pa.array(returned),
        }
    )
    return orders, lines, lpos, pw, day[rows]


def _receipts(
    rng: np.random.Generator,
    p: People,
    pools: Pools,
    counters: dict[str, int],
    b: _Buys,
    rows: np.ndarray,
) -> tuple[pa.Table, pa.Array, np.ndarray]:
    who, secs, line_of, product, qty, price = b.who, b.secs, b.line_of, b.product, b.qty, b.price
    rows = rows[_time_order(secs[rows])]
    m = len(rows)
    pw = who[rows]
    home = p.town[pw]
    store = np.where(rng.random(m) < 0.85, home, rng.integers(0, len(TOWNS), m))
    card = choose(rng.random(m) < 0.85, p.card[pw], None)
    rid = fixed_ids("R", counters["receipt"] + np.arange(m), 10)
    counters["receipt"] += m
    lsel, lpos = _lines_of(rows, line_of)
    markdown = b.discounted[rows][lpos] & (rng.random(len(lsel)) < 0.6)
    disc = money(
        price[lsel] * qty[lsel] * np.where(markdown, rng.choice([0.1, 0.2, 0.3], len(lsel)), 0.0)
    )
    table = pa.table(
        {
            "receipt_id": rid.take(pa.array(lpos)),
            "line_no": pa.array(_line_numbers(lpos), pa.int32()),
            "store_id": fixed_ids("S", store[lpos] + 1, 2),
            "loyalty_card": strings(card[lpos]),
            "receipt_ts": to_ts(secs[rows][lpos]),
            "product_id": strings(pools.product_id[product[lsel]]),
            "quantity": pa.array(qty[lsel], pa.int32()),
            "unit_price": price[lsel],
            "discount": disc,
        }
    )
    carded = present(card)
    return table, rid.filter(pa.array(carded)), pw[carded]
