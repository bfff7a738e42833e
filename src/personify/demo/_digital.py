"""Digital traces: Segment-style web/app events (JSON lines) and email campaign events."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._arrow import DAYS, cat, choose, fixed_ids, hex_ids, iso, pick, present, strings, take
from ._commerce import products_for
from ._people import People
from ._pools import PRODUCT_NOUNS, Pools
from ._types import CATEGORIES, LATENT_TYPES

TRACK_EVENTS = (
    "Product Viewed",
    "Product Added",
    "Checkout Started",
    "Order Completed",
    "Products Searched",
)
_TRACK_P = np.array([0.45, 0.2, 0.08, 0.05, 0.22])
_QUERIES = tuple(noun.lower() for c in CATEGORIES for noun, _ in PRODUCT_NOUNS[c])
_QUERY_CAT = np.array([i for i, c in enumerate(CATEGORIES) for _ in PRODUCT_NOUNS[c]])


def _if(mask: np.ndarray, yes: pa.Array | str, no: pa.Array | str) -> pa.Array:
    return pc.if_else(pa.array(mask), yes, no)


def make_events(
    rng: np.random.Generator, p: People, pools: Pools
) -> tuple[bytes, pa.Array, np.ndarray, pa.Array]:
    """Events as JSON-lines bytes, each message's id and person index, and the user ids seen."""
    spy = np.array([t.sessions_per_year for t in LATENT_TYPES])[p.type_id]
    years = (p.end - p.start + 1) / 365.0
    n_sess = rng.poisson(spy * years * rng.gamma(2.0, 0.5, p.n))
    who = np.repeat(np.arange(p.n), n_sess)
    s = len(who)
    has_acc = present(p.accounts[who, 0])
    app_share = p.mix[who, 1] / (p.mix[who, 0] + p.mix[who, 1] + 1e-9)
    mobile = has_acc & (rng.random(s) < app_share)
    slot = np.where(mobile, 2, (rng.random(s) < 0.2).astype(int))  # web devices 0/1, phone 2
    logged = has_acc & (mobile | (rng.random(s) < 0.35))  # the app needs a login
    n_ev = 2 + rng.poisson(2.5, s)
    login_at = np.where(mobile, 0, (rng.random(s) * n_ev).astype(int))
    start = rng.integers(p.start[who], p.end[who] + 1) * 86400 + rng.integers(25200, 86400, s)

    ev_s = np.repeat(np.arange(s), n_ev)
    k = np.arange(len(ev_s)) - np.repeat(np.cumsum(n_ev) - n_ev, n_ev)
    gaps = rng.integers(5, 240, len(ev_s))
    offs = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[np.cumsum(n_ev) - n_ev], n_ev)
    secs = np.minimum(start[ev_s] + offs, DAYS * 86400 - 1)
    ew = who[ev_s]
    identify = logged[ev_s] & (k == login_at[ev_s])
    known = logged[ev_s] & (k >= login_at[ev_s])
    page = ~identify & (rng.random(len(ev_s)) < np.where(mobile[ev_s], 0.3, 0.55))
    track = ~identify & ~page
    tev = pick(rng, np.tile(_TRACK_P, (len(ev_s), 1)))
    prod = products_for(rng, pools, p.type_id[ew], p.catpref[ew])
    n = len(ev_s)

    anon_pool = hex_ids(rng, 3 * p.n, uuid=True)
    anon = anon_pool.take(pa.array(ew * 3 + slot[ev_s]))
    acc_col = np.where(present(p.accounts[ew, 1]), ev_s % 2, 0)
    user = strings(choose(known, p.accounts[ew, acc_col], None))
    mid = hex_ids(rng, n)
    msg_type = np.where(identify, "identify", np.where(page, "page", "track"))
    head = cat(
        '{"type":"', strings(msg_type), '","messageId":"', mid, '","anonymousId":"', anon, '"'
    )
    user_f = pc.fill_null(cat(',"userId":"', user, '"'), "")
    ts_f = cat(',"timestamp":"', iso(secs), '"')
    event_f = _if(track, cat(',"event":"', take(TRACK_EVENTS, tev), '"'), "")
    traits = cat(
        ',"traits":{"email":"',
        strings(p.account_email[ew, acc_col]),
        '","firstName":"',
        strings(p.first[ew]),
        '","lastName":"',
        strings(p.last[ew]),
        '"}',
    )
    traits_f = _if(identify, pc.fill_null(traits, ""), "")
    pid = take(pools.product_id, prod)
    pcat = take(CATEGORIES, pools.product_cat[prod])
    price = pc.cast(pa.array(pools.product_price[prod]), pa.string())
    path = _if(rng.random(n) < 0.5, cat("/p/", pid), cat("/c/", pcat))
    path = _if(rng.random(n) < 0.1, "/", path)
    q = rng.integers(0, len(_QUERIES), n)
    props = _if(page, cat(',"properties":{"path":"', path, '","category":"', pcat, '"}'), "")
    product_props = cat(
        ',"properties":{"product_id":"', pid, '","category":"', pcat, '","price":', price, "}"
    )
    basket = pc.cast(
        pa.array(np.round(pools.product_price[prod] * (1 + rng.poisson(1.0, n)), 2)), pa.string()
    )
    props = _if(track & (tev <= 1), product_props, props)
    props = _if(
        track & ((tev == 2) | (tev == 3)), cat(',"properties":{"price":', basket, "}"), props
    )
    query = take(_QUERIES, q)
    props = _if(
        track & (tev == 4),
        cat(
            ',"properties":{"query":"',
            query,
            '","category":"',
            take(CATEGORIES, _QUERY_CAT[q]),
            '"}',
        ),
        props,
    )
    device = np.where(
        mobile[ev_s],
        np.where(ew % 3 == 0, "android", "ios"),
        np.where(slot[ev_s] == 1, "mobile", "desktop"),
    )
    ctx = cat(
        ',"context":{"channel":"',
        strings(np.where(mobile[ev_s], "mobile", "web")),
        '","device":{"type":"',
        strings(device),
        '"}}}\n',
    )
    lines = cat(head, user_f, ts_f, event_f, traits_f, props, ctx)
    order = np.argsort(secs, kind="stable")
    lines, mid = lines.take(pa.array(order)), mid.take(pa.array(order))
    return _concat_bytes(lines), mid, ew[order], pc.unique(user.drop_null())


def _concat_bytes(arr: pa.Array) -> bytes:
    """All strings of a string array back to back, straight from its data buffer."""
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=len(arr) + 1 + arr.offset)
    offsets = offsets[arr.offset :]
    return arr.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]


def make_email_events(
    rng: np.random.Generator,
    p: People,
    pools: Pools,
    crm: pa.Table,
    crm_person: np.ndarray,
    counters: dict[str, int],
) -> tuple[pa.Table, np.ndarray]:
    """Sends to consenting CRM records (at the address as written), then opens/clicks/unsubs."""
    consent = crm.column("marketing_consent").to_numpy(zero_copy_only=False)
    recs = np.flatnonzero(consent)
    signup = _days(crm.column("signup_date")).astype(np.int64)[recs]
    person = crm_person[recs]
    tp = p.type_id[person]
    t = LATENT_TYPES
    spy = np.array([x.sends_per_year for x in t])[tp]
    n_send = rng.poisson(spy * (DAYS - signup) / 365.0)
    rec = np.repeat(np.arange(len(recs)), n_send)
    first = np.searchsorted(pools.campaign_day, signup)[rec]
    nc = len(pools.campaign_day)
    ok = first < nc
    rec, first = rec[ok], first[ok]
    camp = first + (rng.random(len(rec)) * (nc - first)).astype(int)
    key = np.unique(rec.astype(np.int64) * nc + camp)  # one send per campaign and record
    rec, camp = key // nc, key % nc
    pr = person[rec]
    ptype = p.type_id[pr]
    sent_s = pools.campaign_day[camp] * 86400 + 28800 + rng.integers(0, 7200, len(rec))
    churned = pools.campaign_day[camp] > p.end[pr] + 90
    open_p = np.array([x.email_open for x in t])[ptype] * np.where(churned, 0.4, 1.0)
    theme = pools.campaign_theme[camp]
    click_p = np.array([x.email_click for x in t])[ptype] * np.where(
        theme == "promotion", np.array([x.promo_affinity for x in t])[ptype], 0.7
    )
    opened = rng.random(len(rec)) < open_p
    clicked = opened & (rng.random(len(rec)) < np.minimum(click_p, 0.95))
    unsub = opened & (rng.random(len(rec)) < np.array([x.unsubscribe for x in t])[ptype] * 3)
    stop = np.full(len(recs), np.iinfo(np.int64).max)
    np.minimum.at(stop, rec[unsub], sent_s[unsub])
    keep = sent_s <= stop[rec]  # nothing is sent after an unsubscribe
    open_s = sent_s + rng.exponential(6 * 3600, len(rec)).astype(np.int64) + 60
    click_s = open_s + rng.integers(5, 900, len(rec))
    kinds = [
        ("sent", keep, sent_s),
        ("opened", keep & opened, open_s),
        ("clicked", keep & clicked, click_s),
        ("unsubscribed", keep & unsub, click_s + 30),
    ]
    ev_rec = np.concatenate([rec[m] for _, m, _ in kinds])
    ev_camp = np.concatenate([camp[m] for _, m, _ in kinds])
    ev_s = np.minimum(np.concatenate([s_[m] for _, m, s_ in kinds]), DAYS * 86400 - 1)
    ev_kind = np.concatenate([np.full(int(m.sum()), k) for k, m, _ in kinds])
    order = np.lexsort((ev_rec, ev_s))
    m = len(order)
    eid = fixed_ids("EE", counters["email_event"] + np.arange(m), 10)
    counters["email_event"] += m
    emails = crm.column("email").take(pa.array(recs[ev_rec[order]]))
    table = pa.table(
        {
            "event_id": eid,
            "campaign_id": take(pools.campaign_id, ev_camp[order]),
            "email": emails,
            "event_type": strings(ev_kind[order]),
            "event_ts": iso(ev_s[order]),
        }
    )
    return table, person[ev_rec[order]]


def _days(col: pa.ChunkedArray) -> np.ndarray:
    d = col.cast(pa.int32()).to_numpy(zero_copy_only=False)
    return d - int(np.datetime64("2023-01-01", "D").astype(int))
