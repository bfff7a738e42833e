"""What customers write: support tickets, product reviews and survey responses."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from . import _text
from ._arrow import DAYS, choose, fixed_ids, iso, pick, present, strings, take
from ._commerce import Commerce, products_for
from ._noise import format_phones, vary_emails
from ._people import People
from ._pools import DISCOUNT_CODES, TOWNS, Pools
from ._types import CATEGORIES, LATENT_TYPES, SURVEY_ITEMS, TICKET_CHANNELS

_T = LATENT_TYPES
_SATISFACTION = np.array([3.6, 3.5, 3.3, 3.9, 2.2])


def _writers(
    rng: np.random.Generator,
    p: People,
    pools: Pools,
    who: np.ndarray,
    email: np.ndarray,
    order: np.ndarray,
) -> _text.Writers:
    prod = products_for(rng, pools, p.type_id[who], p.catpref[who])
    phone = format_phones(p.phone.take(pa.array(who)), rng.integers(0, 6, len(who)))
    return _text.Writers(
        type_id=p.type_id[who],
        first=p.first[who],
        last=p.last[who],
        email=email,
        phone=np.array(phone.to_pylist(), dtype=object),
        product=pools.product_name[prod],
        category=np.array(CATEGORIES, dtype=object)[pools.product_cat[prod]],
        town=np.array([t[0] for t in TOWNS], dtype=object)[p.town[who]],
        order=order,
        code=np.array([c[0] for c in DISCOUNT_CODES], dtype=object)[
            rng.integers(0, len(DISCOUNT_CODES), len(who))
        ],
    )


def _contact_email(rng: np.random.Generator, p: People, who: np.ndarray) -> np.ndarray:
    u = rng.random(len(who))
    acc = p.account_email[who, 0]
    email = np.where((u < 0.15) & present(acc), acc, p.email[who])
    email = np.where((u > 0.88) & present(p.alt_email[who]), p.alt_email[who], email)
    return vary_emails(email, rng.random(len(who)) < 0.05, rng)


def _an_order(rng: np.random.Generator, c: Commerce, who: np.ndarray) -> np.ndarray:
    """One of the person's order ids (or a made-up one if they never ordered online)."""
    fake = np.array([f"NW{x:09d}" for x in rng.integers(0, 10**7, len(who))], dtype=object)
    if not len(c.order_person):
        return fake
    by = np.argsort(c.order_person, kind="stable")
    first = np.searchsorted(c.order_person[by], who, side="left")
    count = np.searchsorted(c.order_person[by], who, side="right") - first
    pick_ = by[np.minimum(first + (rng.random(len(who)) * count).astype(int), len(by) - 1)]
    ids = c.orders.column("order_id").to_numpy(zero_copy_only=False)
    return np.where(count > 0, ids[pick_], fake)


def make_tickets(
    rng: np.random.Generator, p: People, pools: Pools, c: Commerce, counters: dict[str, int]
) -> tuple[pa.Table, np.ndarray]:
    rate = np.array([t.tickets_per_year for t in _T])[p.type_id]
    n_t = rng.poisson(rate * ((p.end - p.start + 1) / 365.0 + 0.3))
    who = np.repeat(np.arange(p.n), n_t)
    day = rng.integers(p.start[who], np.minimum(p.end[who] + 30, DAYS - 1) + 1)
    secs = day * 86400 + rng.integers(8 * 3600, 21 * 3600, len(who))
    order = np.argsort(secs, kind="stable")
    who, secs = who[order], secs[order]
    m = len(who)
    email = _contact_email(rng, p, who)
    topic, subject, body = _text.tickets(
        rng, _writers(rng, p, pools, who, email, _an_order(rng, c, who))
    )
    tt = p.type_id[who]
    sat = np.clip(np.rint(rng.normal(_SATISFACTION[tt], 1.0)), 1, 5).astype(np.int32)
    channel = pick(rng, np.array([t.ticket_channels for t in _T])[tt])
    table = pa.table(
        {
            "ticket_id": fixed_ids("T", counters["ticket"] + np.arange(m), 8),
            "email": strings(email),
            "created_ts": iso(secs),
            "channel": take(TICKET_CHANNELS, channel),
            "topic": strings(topic),
            "subject": strings(subject),
            "body": strings(body),
            "satisfaction": pa.array(choose(rng.random(m) < 0.35, None, sat).tolist(), pa.int32()),
        }
    )
    counters["ticket"] += m
    return table, who


def make_reviews(
    rng: np.random.Generator, p: People, pools: Pools, c: Commerce, counters: dict[str, int]
) -> tuple[pa.Table, np.ndarray]:
    """Reviews of bought lines, written from the ordering account."""
    acc = c.orders.column("account_id").to_numpy(zero_copy_only=False)
    status = c.orders.column("status").to_numpy(zero_copy_only=False)
    lo = c.line_order
    lperson = c.order_person[lo]
    returned = c.lines.column("returned").to_numpy(zero_copy_only=False)
    rate = np.array([t.review_rate for t in _T])[p.type_id[lperson]] * np.where(returned, 1.6, 1)
    sel = np.flatnonzero(
        present(acc[lo]) & (status[lo] == "completed") & (rng.random(len(lo)) < rate)
    )
    who = lperson[sel]
    secs = (c.order_day[lo[sel]] + rng.integers(3, 30, len(sel))) * 86400 + rng.integers(
        25200, 86000, len(sel)
    )
    secs = np.minimum(secs, DAYS * 86400 - 1)
    order = np.argsort(secs, kind="stable")
    sel, who, secs = sel[order], who[order], secs[order]
    m = len(sel)
    base = np.array([t.rating for t in _T])[p.type_id[who]]
    rating = np.clip(np.rint(rng.normal(base - 1.5 * returned[sel], 1.0)), 1, 5).astype(int)
    w = _writers(rng, p, pools, who, p.email[who], np.zeros(m, dtype=object))
    pid = c.lines.column("product_id").to_numpy(zero_copy_only=False)[sel]
    names = dict(zip(pools.product_id, pools.product_name, strict=True))
    w = _text.Writers(**{**w.__dict__, "product": np.array([names[x] for x in pid], dtype=object)})
    title, body = _text.reviews(rng, w, rating)
    table = pa.table(
        {
            "review_id": fixed_ids("RV", counters["review"] + np.arange(m), 8),
            "account_id": strings(acc[lo[sel]]),
            "product_id": strings(pid),
            "rating": pa.array(rating, pa.int32()),
            "title": strings(title),
            "body": strings(body),
            "created_ts": iso(secs),
        }
    )
    counters["review"] += m
    return table, who


def make_surveys(
    rng: np.random.Generator, p: People, pools: Pools, counters: dict[str, int]
) -> tuple[pa.Table, np.ndarray]:
    ps = np.array([t.p_survey for t in _T])[p.type_id]
    who = np.flatnonzero(rng.random(p.n) < ps)
    secs = rng.integers(p.start[who], DAYS) * 86400 + rng.integers(25200, 82800, len(who))
    order = np.argsort(secs, kind="stable")
    who, secs = who[order], secs[order]
    m = len(who)
    email = _contact_email(rng, p, who)
    answers = _text.survey_answers(
        rng, _writers(rng, p, pools, who, email, np.zeros(m, dtype=object))
    )
    means = np.array([t.survey for t in _T])[p.type_id[who]]
    likert = np.clip(np.rint(means + rng.normal(0, 0.9, means.shape)), 1, 5).astype(np.int32)
    cols: dict[str, pa.Array] = {
        "response_id": fixed_ids("SR", counters["survey"] + np.arange(m), 8),
        "email": strings(email),
        "submitted_ts": iso(secs),
    }
    for j, q in enumerate(SURVEY_ITEMS):
        cols[q] = pa.array(likert[:, j], pa.int32())
    cols["open_answer"] = pa.array(answers, pa.string())
    counters["survey"] += m
    return pa.table(cols), who
