"""The mess real sources have: typos, phone formats, postcode styles, email variants."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._arrow import cat

DOMAIN_TYPOS: dict[str, tuple[str, ...]] = {
    "gmail.com": ("gmial.com", "gmail.co", "gmal.com", "gnail.com", "gmail.con"),
    "hotmail.co.uk": ("hotmial.co.uk", "hotmail.co", "hotmail.com", "hotmal.co.uk"),
    "outlook.com": ("outlok.com", "outlook.co.uk", "outloook.com"),
    "yahoo.co.uk": ("yaho.co.uk", "yahoo.com", "yahooo.co.uk"),
    "icloud.com": ("iclould.com", "icloud.co.uk", "icoud.com"),
}
_KEYS = "qwertyuiopasdfghjklzxcvbnm"


def typo(word: str, r: float, r2: float) -> str:
    """One keyboard slip: transpose, drop, double or replace a letter (r, r2 in [0, 1))."""
    if len(word) < 3:
        return word
    i = 1 + int(r2 * (len(word) - 2))  # keep the first letter, people rarely get that wrong
    kind = int(r * 4)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :] if i + 1 < len(word) else word
    if kind == 1:
        return word[:i] + word[i + 1 :]
    if kind == 2:
        return word[:i] + word[i] + word[i:]
    return word[:i] + _KEYS[int(r2 * 1000) % 26] + word[i + 1 :]


def typo_some(values: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Copy of an object array of strings with a typo where mask is true."""
    out = values.copy()
    idx = np.flatnonzero(mask)
    r = rng.random((len(idx), 2))
    for j, i in enumerate(idx):
        v = out[i]
        if v:
            out[i] = typo(v, r[j, 0], r[j, 1])
    return out


def email_variant(email: str, r: float, r2: float) -> str:
    """A mistyped or differently written email; some are normalisable, some are not."""
    local, _, domain = email.partition("@")
    if r < 0.35 and domain in DOMAIN_TYPOS:
        bank = DOMAIN_TYPOS[domain]
        return f"{local}@{bank[int(r2 * len(bank))]}"
    if r < 0.6:
        return f"{typo(local, r2, (r * 7) % 1)}@{domain}"
    if r < 0.8:  # same address, other case / stray spaces: normalisation fixes these
        return f"{local.capitalize()}@{domain.capitalize()}" if r2 < 0.6 else f" {email} "
    if r < 0.9 and domain == "gmail.com":  # gmail ignores dots
        return f"{local.replace('.', '')}@{domain}"
    return f"{local}+shop@{domain}" if domain == "gmail.com" else email.upper()


def vary_emails(values: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = values.copy()
    idx = np.flatnonzero(mask)
    r = rng.random((len(idx), 2))
    for j, i in enumerate(idx):
        if out[i]:
            out[i] = email_variant(out[i], r[j, 0], r[j, 1])
    return out


PHONE_STYLES = 6


def format_phones(digits: pa.Array, style: np.ndarray) -> pa.Array:
    """UK mobile digits "07412345678" in one of several written styles per row."""

    def sl(a: int, b: int) -> pa.Array:
        return pc.utf8_slice_codeunits(digits, a, b)

    styles = [
        cat(sl(0, 5), " ", sl(5, 11)),  # 07412 345678
        cat("+44 ", sl(1, 5), " ", sl(5, 11)),  # +44 7412 345678
        digits,  # 07412345678
        cat("(", sl(0, 5), ") ", sl(5, 8), " ", sl(8, 11)),  # (07412) 345 678
        cat(sl(1, 5), "-", sl(5, 8), "-", sl(8, 11)),  # 7412-345-678
        cat("+44", sl(1, 11)),  # +447412345678
    ]
    out = styles[0]
    for k in range(1, PHONE_STYLES):
        out = pc.if_else(pa.array(style == k), styles[k], out)
    return out


def format_postcodes(postcodes: pa.Array, style: np.ndarray) -> pa.Array:
    """0 as is ("LS6 2AB"), 1 lower case, 2 without the space."""
    lower = pc.utf8_lower(postcodes)
    nospace = pc.replace_substring(postcodes, " ", "")
    return pc.if_else(
        pa.array(style == 1), lower, pc.if_else(pa.array(style == 2), nospace, postcodes)
    )
