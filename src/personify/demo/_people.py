"""Persons (the truth) and the records the company holds about them: CRM, loyalty, accounts."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._arrow import DAYS, choose, fixed_ids, present, scramble, strings, to_date
from ._noise import format_phones, format_postcodes, typo_some, vary_emails
from ._pools import ACQ_CAMPAIGNS, EMAIL_DOMAINS, TOWNS, Pools, job_titles_flat
from ._types import (
    ACQUISITION_CHANNELS,
    EDUCATION,
    INCOME_BANDS,
    JOB_GROUPS,
    LATENT_TYPES,
    MARITAL,
)

_TP = LATENT_TYPES
_INWARD = "ABDEFGHJLNPQRSTUWXYZ"
_NOT_MOVED = 10**6


def _probs(field: str) -> np.ndarray:
    m = np.array([getattr(t, field) for t in _TP], dtype=float)
    return m / m.sum(axis=1, keepdims=True)


# 07AB: UK mobile blocks where every following 7-digit number is a valid mobile.
# fmt: off
MOBILE_BLOCKS = np.array([
    40, 41, 42, 43, 44, 46, 47, 48, 49, 51, 53, 54, 55, 56, 57, 58, 59, 71, 72, 73,
    74, 75, 76, 77, 80, 81, 84, 85, 86, 87, 88, 89, 90, 92, 94, 95, 96, 97, 98, 99,
])
# fmt: on


@dataclass
class People:
    """One chunk of persons; arrays are aligned by person."""

    pnum: np.ndarray
    type_id: np.ndarray
    female: np.ndarray
    age: np.ndarray
    first: np.ndarray
    last: np.ndarray
    email: np.ndarray
    alt_email: np.ndarray
    phone: pa.Array
    town: np.ndarray
    town_new: np.ndarray
    postcode_old: np.ndarray
    postcode_new: np.ndarray
    move_day: np.ndarray
    start: np.ndarray
    end: np.ndarray
    acq_campaign: np.ndarray
    consent: np.ndarray
    has_crm: np.ndarray
    card: np.ndarray  # card number or None
    accounts: np.ndarray  # (n, 2) account ids or None
    account_email: np.ndarray  # (n, 2)
    mix: np.ndarray  # (n, 3) web/app/store
    catpref: np.ndarray  # (n, 8)
    rate: np.ndarray
    disc_p: np.ndarray
    ret_p: np.ndarray
    income: np.ndarray
    education: np.ndarray
    marital: np.ndarray
    job: np.ndarray

    @property
    def n(self) -> int:
        return len(self.pnum)

    def postcode_at(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        moved = self.move_day[idx] <= day
        return np.where(moved, self.postcode_new[idx], self.postcode_old[idx])


def _postcodes(rng: np.random.Generator, town: np.ndarray) -> np.ndarray:
    """Fictional but well-formed UK postcodes in the town's area, e.g. "LS6 2AB"."""
    n = len(town)
    letters = np.array(list(_INWARD), dtype=object)
    parts = [
        np.array([t[1] for t in TOWNS], dtype=object)[town],
        rng.integers(1, 20, n).astype(str).astype(object),
        " ",
        rng.integers(1, 10, n).astype(str).astype(object),
        letters[rng.integers(0, len(letters), n)],
        letters[rng.integers(0, len(letters), n)],
    ]
    out = parts[0]
    for part in parts[1:]:
        out = out + part
    return out


_CLEAN = re.compile(r"[^a-z]")


@functools.cache
def _clean(name: str) -> str:
    return _CLEAN.sub("", name.lower())


def _local_part(first: str, last: str, yy: int, pattern: int, num: int) -> str:
    f, la = _clean(first), _clean(last)
    forms = (
        f"{f}.{la}",
        f"{f}{la}",
        f"{f[0]}{la}",
        f"{f}_{la}",
        f"{la}.{f}",
        f"{f}{yy:02d}",
        f"{f}.{la}{yy:02d}",
        f"{f[0]}.{la}{num}",
        f"{la}{f[0]}{num}",
    )
    return forms[pattern]


def _emails(
    rng: np.random.Generator, first: np.ndarray, last: np.ndarray, yy: np.ndarray, used: set[str]
) -> np.ndarray:
    """Plausible unique addresses; `used` spans all chunks so no two persons collide."""
    n = len(first)
    dom = rng.choice(len(EMAIL_DOMAINS), n, p=[d[1] for d in EMAIL_DOMAINS])
    pattern = rng.integers(0, 9, n)
    num = rng.integers(1, 100, n)
    extra = rng.integers(1, 1000, (n, 4))
    out = np.empty(n, dtype=object)
    for i in range(n):
        local = _local_part(first[i], last[i], int(yy[i]), int(pattern[i]), int(num[i]))
        email = f"{local}@{EMAIL_DOMAINS[dom[i]][0]}"
        k = 0
        while email in used:
            email = f"{local}{extra[i, k % 4] + k}@{EMAIL_DOMAINS[dom[i]][0]}"
            k += 1
        used.add(email)
        out[i] = email
    return out


def _beta(rng: np.random.Generator, mean: np.ndarray, conc: float) -> np.ndarray:
    return rng.beta(mean * conc + 1e-3, (1 - mean) * conc + 1e-3)


def make_people(
    rng: np.random.Generator,
    pools: Pools,
    first_pnum: int,
    n: int,
    counters: dict[str, int],
    used_emails: set[str],
    *,
    only_type: int | None = None,
    first_day: int = 0,
) -> People:
    """n persons numbered from first_pnum; counters and used_emails carry across chunks.

    ``only_type`` makes every person of that type and ``first_day`` is the earliest day a
    person becomes a customer (the planned shift's newcomers, generator.Shift)."""
    if only_type is None:
        shares = np.array([t.share for t in _TP])
        type_id = rng.choice(len(_TP), n, p=shares / shares.sum())
    else:
        type_id = np.full(n, only_type, dtype=np.int64)
    tp = np.array(
        [
            [
                t.age[0],
                t.age[1],
                t.female,
                t.p_crm,
                t.p_account,
                t.p_loyalty,
                t.lifetime_months,
                t.purchases_per_year,
                t.discount_rate,
                t.return_rate,
            ]
            for t in _TP
        ]
    )[type_id]
    age = np.clip(rng.uniform(tp[:, 0], tp[:, 1]) + rng.normal(0, 3.5, n), 18, 90)
    female = rng.random(n) < tp[:, 2]
    marital = _draw(rng, _probs("marital")[type_id])
    town = rng.choice(len(TOWNS), n, p=_town_p())
    # households: some married value_families share one email, address and surname
    fam = np.flatnonzero((type_id == 0) & (marital == MARITAL.index("married")))
    pairs = rng.permutation(fam)[: int(len(fam) * 0.36) // 2 * 2].reshape(-1, 2)
    a, b = pairs[:, 0], pairs[:, 1]
    female[b] = ~female[a]
    town[b] = town[a]
    first = np.where(
        female,
        rng.choice(pools.first_female, n, p=pools.first_female_p),
        rng.choice(pools.first_male, n, p=pools.first_male_p),
    )
    last = rng.choice(pools.last, n, p=pools.last_p)
    last[b] = np.where(rng.random(len(b)) < 0.85, last[a], last[b])
    yy = (2026 - age.astype(int)) % 100
    email = _emails(rng, first, last, yy, used_emails)
    email[b] = email[a]
    has_alt = rng.random(n) < 0.35
    has_alt[b] = False
    alt = choose(has_alt, _emails(rng, first, last, (yy + 7) % 100, used_emails), None)
    pnum = first_pnum + np.arange(n)
    # one UK mobile each, in ranges libphonenumber accepts as allocated (07700 900xxx,
    # the drama range, is not), unique because the scramble is a bijection
    block = MOBILE_BLOCKS[pnum % len(MOBILE_BLOCKS)]
    phone = fixed_ids("07", block * 10**7 + scramble(pnum, 10**7, 48_271, 12_345_679), 9)
    postcode_old = _postcodes(rng, town)
    moved = rng.random(n) < 0.18
    new_town = np.where(rng.random(n) < 0.6, town, rng.choice(len(TOWNS), n, p=_town_p()))
    postcode_new = np.where(moved, _postcodes(rng, new_town), postcode_old)
    move_day = np.where(moved, rng.integers(0, DAYS, n), _NOT_MOVED)
    new_town = np.where(moved, new_town, town)
    for arr in (postcode_new, postcode_old, move_day, new_town):
        arr[b] = arr[a]

    start = rng.integers(first_day, DAYS - 10, n)
    life = rng.exponential(tp[:, 6] * 30.44)
    end = np.minimum(start + np.maximum(life, 1), DAYS - 1).astype(np.int64)
    acq_channel = _draw(rng, _probs("acquisition")[type_id])
    acq_campaign = _campaign_for(rng, acq_channel)

    has_crm = rng.random(n) < tp[:, 3]
    has_acc = (rng.random(n) < tp[:, 4]) & ~np.isin(np.arange(n), b)
    has_card = (rng.random(n) < tp[:, 5]) | (acq_channel == ACQUISITION_CHANNELS.index("store"))
    has_crm |= ~(has_acc | has_card)  # everybody is known somewhere
    second = has_acc & (rng.random(n) < 0.08)
    accounts = _account_ids(has_acc, second, counters)
    account_email = _account_emails(rng, email, alt, has_acc, second, first, last, yy, used_emails)
    card_no = scramble(counters["card"] + np.cumsum(has_card) - 1, 10**8, 5_003, 31_337)
    card = choose(has_card, np.array(fixed_ids("6338", card_no, 8).to_pylist(), dtype=object), None)
    counters["card"] += int(has_card.sum())

    mix = _mix(rng, type_id)
    mix[~has_acc, 0] += mix[~has_acc, 1]  # the app needs an account
    mix[~has_acc, 1] = 0.0
    cat_w = _probs("categories")
    catpref = rng.gamma(8.0 * cat_w[type_id] + 1e-3)  # a Dirichlet around the type's taste
    catpref /= catpref.sum(axis=1, keepdims=True)
    titles, title_group = job_titles_flat()
    group = _draw(rng, _probs("jobs")[type_id])
    size = np.bincount(title_group, minlength=len(JOB_GROUPS))
    first_title = np.cumsum(size) - size
    job = titles[first_title[group] + rng.integers(0, 1000, n) % np.maximum(size[group], 1)]
    return People(
        pnum=pnum,
        type_id=type_id,
        female=female,
        age=age,
        first=first,
        last=last,
        email=email,
        alt_email=alt,
        phone=phone,
        town=town,
        town_new=new_town,
        postcode_old=postcode_old,
        postcode_new=postcode_new,
        move_day=move_day,
        start=start,
        end=end,
        acq_campaign=acq_campaign,
        consent=rng.random(n) < 0.68,
        has_crm=has_crm,
        card=card,
        accounts=accounts,
        account_email=account_email,
        mix=mix,
        catpref=catpref,
        rate=tp[:, 7] * rng.gamma(2.0, 0.5, n),
        disc_p=_beta(rng, tp[:, 8], 6.0),
        ret_p=_beta(rng, tp[:, 9], 8.0),
        income=_draw(rng, _probs("income")[type_id]),
        education=_draw(rng, _probs("education")[type_id]),
        marital=marital,
        job=job,
    )


def _draw(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    cum = np.cumsum(probs, axis=1)
    return np.minimum((rng.random(len(probs))[:, None] > cum).sum(axis=1), probs.shape[1] - 1)


def _town_p() -> np.ndarray:
    w = np.array([t[2] for t in TOWNS])
    return w / w.sum()


def _mix(rng: np.random.Generator, type_id: np.ndarray) -> np.ndarray:
    """Per-person channel shares: a Dirichlet around the type's mix."""
    g = rng.gamma(np.array([t.channel_mix for t in _TP])[type_id] * 5.0 + 0.05)
    return g / g.sum(axis=1, keepdims=True)


def _campaign_for(rng: np.random.Generator, channel: np.ndarray) -> np.ndarray:
    ch = np.array([ACQUISITION_CHANNELS.index(c[1]) for c in ACQ_CAMPAIGNS])
    out = np.empty(len(channel), dtype=np.int64)
    u = rng.random(len(channel))
    for c in np.unique(channel):
        options = np.flatnonzero(ch == c)
        sel = channel == c
        out[sel] = options[(u[sel] * len(options)).astype(int)]
    return out


def _account_ids(has: np.ndarray, second: np.ndarray, counters: dict[str, int]) -> np.ndarray:
    out = np.full((len(has), 2), None, dtype=object)
    for col, mask in ((0, has), (1, second)):
        k = counters["account"] + np.arange(int(mask.sum()))
        out[mask, col] = fixed_ids("A", scramble(k, 10**8, 9_301, 49_297), 8).to_pylist()
        counters["account"] += int(mask.sum())
    return out


def _account_emails(
    rng: np.random.Generator,
    email: np.ndarray,
    alt: np.ndarray,
    has: np.ndarray,
    second: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    yy: np.ndarray,
    used: set[str],
) -> np.ndarray:
    n = len(email)
    u = rng.random(n)
    main = np.where((u < 0.12) & present(alt), alt, email)
    main = vary_emails(main, u > 0.95, rng)  # mistyped when the account was made
    out = np.full((n, 2), None, dtype=object)
    out[has, 0] = main[has]
    sec = alt.copy()
    idx = np.flatnonzero(second & ~present(sec))
    sec[idx] = _emails(rng, first[idx], last[idx], (yy[idx] + 3) % 100, used)
    out[second, 1] = sec[second]
    return out


def crm_records(
    rng: np.random.Generator, p: People, counters: dict[str, int]
) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """CRM rows (some persons twice), with the person index of each row and primary flag."""
    base = np.flatnonzero(p.has_crm)
    dup = base[rng.random(len(base)) < 0.03]
    idx = np.concatenate([base, dup])
    primary = np.arange(len(idx)) < len(base)
    m = len(idx)
    order = rng.permutation(m)  # row order must not reveal who is who
    idx, primary = idx[order], primary[order]
    u = rng.random((m, 12))
    first = typo_some(p.first[idx], u[:, 0] < np.where(primary, 0.03, 0.25), rng)
    first = np.where(u[:, 1] < 0.03, np.char.upper(first.astype(str)).astype(object), first)
    last = typo_some(p.last[idx], u[:, 2] < np.where(primary, 0.03, 0.2), rng)
    alt = p.alt_email[idx]
    email = np.where(~primary & present(alt), alt, p.email[idx])
    email = np.where(primary & (u[:, 3] < 0.05) & present(alt), alt, email)
    email = vary_emails(email, (u[:, 4] < 0.06) | (~primary & (u[:, 4] < 0.5)), rng)
    phone = format_phones(
        p.phone.take(pa.array(idx)), _draw(rng, np.tile([0.35, 0.2, 0.25, 0.05, 0.05, 0.1], (m, 1)))
    )
    signup = np.where(primary, p.start[idx], rng.integers(p.start[idx], p.end[idx] + 1))
    updated = (p.move_day[idx] <= signup) | ((p.move_day[idx] < DAYS) & (u[:, 5] < 0.3))
    postcode = np.where(updated, p.postcode_new[idx], p.postcode_old[idx])
    birth = (DAYS - p.age[idx] * 365.25).astype(np.int64)
    card = choose(u[:, 6] < 0.35, p.card[idx], None)
    spaced = np.array(
        [
            f"{c[:4]} {c[4:8]} {c[8:]}" if c and r < 0.3 else c
            for c, r in zip(card, u[:, 7], strict=True)
        ],
        dtype=object,
    )
    town = np.array([t[0] for t in TOWNS], dtype=object)
    cid = fixed_ids("C", scramble(counters["crm"] + np.arange(m), 10**7), 7)
    counters["crm"] += m

    def nul(values: np.ndarray, rate: float, col: int) -> pa.Array:
        return strings(choose(u[:, col] < rate, None, values))

    gender = np.where(p.female[idx], "F", "M").astype(object)
    gender[u[:, 9] < 0.01] = "X"
    table = pa.table(
        {
            "customer_id": cid,
            "first_name": strings(first),
            "last_name": strings(last),
            "email": strings(email),
            "phone": pa.array(
                choose(u[:, 8] < 0.15, None, phone.to_numpy(zero_copy_only=False)).tolist(),
                pa.string(),
            ),
            "birth_date": _mask(to_date(birth), u[:, 10] < 0.18),
            "gender": nul(gender, 0.10, 11),
            "postcode": format_postcodes(
                strings(postcode), _draw(rng, np.tile([0.93, 0.03, 0.04], (m, 1)))
            ),
            "city": nul(town[np.where(updated, p.town_new[idx], p.town[idx])], 0.03, 5),
            "income_band": nul(np.array(INCOME_BANDS, dtype=object)[p.income[idx]], 0.25, 1),
            "education": nul(np.array(EDUCATION, dtype=object)[p.education[idx]], 0.30, 3),
            "marital_status": nul(np.array(MARITAL, dtype=object)[p.marital[idx]], 0.20, 6),
            "job_title": nul(p.job[idx], 0.25, 7),
            "signup_date": to_date(signup),
            "marketing_consent": pa.array(np.where(primary, p.consent[idx], u[:, 9] < 0.5)),
            "loyalty_card": strings(spaced),
        }
    )
    return table, idx, primary


def _mask(arr: pa.Array, missing: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(missing), pa.nulls(len(arr), arr.type), arr)


def loyalty_records(rng: np.random.Generator, p: People) -> tuple[pa.Table, np.ndarray]:
    idx = rng.permutation(np.flatnonzero(present(p.card)))
    m = len(idx)
    u = rng.random((m, 8))
    joined = np.where(
        p.acq_campaign[idx] == _store_campaign(),
        p.start[idx],
        rng.integers(p.start[idx], p.end[idx] + 1),
    )
    email = vary_emails(p.email[idx], u[:, 0] < 0.12, rng)  # handwritten forms
    email = choose(u[:, 1] < 0.45, None, email)
    first = typo_some(p.first[idx], u[:, 2] < 0.06, rng)
    first = np.where(u[:, 3] < 0.05, np.char.upper(first.astype(str)).astype(object), first)
    phone = format_phones(p.phone.take(pa.array(idx)), rng.integers(0, 6, m))
    table = pa.table(
        {
            "card_number": strings(p.card[idx]),
            "first_name": strings(first),
            "last_name": strings(typo_some(p.last[idx], u[:, 4] < 0.06, rng)),
            "email": strings(email),
            "phone": _mask(phone, u[:, 5] < 0.2),
            # handwritten forms: postcodes often in lower case or without the space
            "postcode": format_postcodes(
                strings(p.postcode_at(idx, joined)), _draw(rng, np.tile([0.7, 0.15, 0.15], (m, 1)))
            ),
            "joined_date": to_date(joined),
        }
    )
    return table, idx


def _store_campaign() -> int:
    return [c[1] for c in ACQ_CAMPAIGNS].index("store")
