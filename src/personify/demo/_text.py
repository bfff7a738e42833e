"""Compose varied customer text from the phrase banks (one Python pass per text row)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._noise import typo
from ._text_banks import (
    CLOSINGS_NAMED,
    CLOSINGS_PLAIN,
    FILLERS,
    OPENINGS,
    PII,
    REVIEW_FLAVOUR,
    REVIEW_GENERIC,
    REVIEW_TITLES,
    SURVEY_EXTRA,
    THEMES,
)
from ._types import TYPE_NAMES

OWN_THEME = 0.72  # otherwise the writer borrows another type's concern: themes overlap
_AMOUNTS = ("3.95", "4.95", "5.99", "6.95", "7.50", "9.99", "12.00", "19.99", "45.00", "89.99")


@dataclass(frozen=True)
class Writers:
    """Who writes each text row, as equal-length object/int arrays."""

    type_id: np.ndarray
    first: np.ndarray
    last: np.ndarray
    email: np.ndarray
    phone: np.ndarray
    product: np.ndarray
    category: np.ndarray
    town: np.ndarray
    order: np.ndarray
    code: np.ndarray


def _values(w: Writers, i: int, r: float) -> dict[str, str]:
    return {
        "product": str(w.product[i]),
        "category": str(w.category[i]).replace("_", " "),
        "town": str(w.town[i]),
        "order": str(w.order[i]),
        "code": str(w.code[i]),
        "amount": _AMOUNTS[int(r * len(_AMOUNTS))],
        "days": str(7 + int(r * 40)),
        "first": str(w.first[i]),
        "last": str(w.last[i]),
        "email": str(w.email[i]),
        "phone": str(w.phone[i]),
    }


def _roughen(text: str, r: float, r2: float, casual: bool) -> str:
    """Occasional typo, and a lower-case style for casual writers."""
    if r < 0.12:
        words = text.split(" ")
        j = int(r2 * len(words))
        if len(words[j]) > 3 and words[j].isalpha():
            words[j] = typo(words[j], r * 8, r2)
        text = " ".join(words)
    if casual and r2 < 0.35:
        text = text.lower().replace(". ", " ").rstrip(".")
    return text


def _theme_type(own: int, r: float, r2: float) -> int:
    return own if r < OWN_THEME else int(r2 * len(TYPE_NAMES))


def tickets(rng: np.random.Generator, w: Writers) -> tuple[list[str], list[str], list[str]]:
    """(topic, subject, body) per row."""
    n = len(w.type_id)
    r = rng.random((n, 12))
    topics, subjects, bodies = [], [], []
    for i in range(n):
        ri = r[i]
        own = int(w.type_id[i])
        themes = THEMES[TYPE_NAMES[_theme_type(own, ri[0], ri[1])]]
        th = themes[int(ri[2] * len(themes))]
        vals = _values(w, i, ri[3])
        parts = [OPENINGS[int(ri[4] * len(OPENINGS))]]
        first = int(ri[5] * len(th.complaints))
        parts.append(th.complaints[first])
        if ri[6] < 0.6:
            parts.append(FILLERS[int(ri[7] * len(FILLERS))])
        if ri[8] < 0.35:
            parts.append(th.complaints[(first + 1 + int(ri[9] * 3)) % len(th.complaints)])
        if ri[10] < 0.2:
            parts.append(PII[int(ri[11] * len(PII))])
        closing = CLOSINGS_NAMED if ri[9] < 0.55 else CLOSINGS_PLAIN
        parts.append(closing[int(ri[3] * 997) % len(closing)])
        body = " ".join(p for p in parts if p).format_map(vals)
        topics.append(th.topic)
        subjects.append(th.subjects[int(ri[7] * 991) % len(th.subjects)].format_map(vals))
        bodies.append(_roughen(body, ri[11], ri[0], own == 1))
    return topics, subjects, bodies


def _bucket(rating: int) -> str:
    return "pos" if rating >= 4 else "mid" if rating == 3 else "neg"


def reviews(
    rng: np.random.Generator, w: Writers, rating: np.ndarray
) -> tuple[list[str], list[str]]:
    """(title, body) per row; tone follows the rating, flavour mostly the writer's type."""
    n = len(w.type_id)
    r = rng.random((n, 8))
    titles, bodies = [], []
    for i in range(n):
        ri = r[i]
        own = int(w.type_id[i])
        b = _bucket(int(rating[i]))
        vals = _values(w, i, ri[0])
        generic = REVIEW_GENERIC[b]
        parts = [generic[int(ri[1] * len(generic))]]
        fb = "neg" if b == "neg" or (b == "mid" and ri[2] < 0.5) else "pos"
        if ri[3] < 0.8:
            flavour = REVIEW_FLAVOUR[TYPE_NAMES[_theme_type(own, ri[4], ri[5])]][fb]
            parts.insert(int(ri[6] * 2), flavour[int(ri[7] * len(flavour))])
        if ri[2] < 0.3:
            parts.append(generic[(int(ri[1] * len(generic)) + 1) % len(generic)])
        if ri[5] < 0.03:
            parts.append("{first} from {town}" if ri[6] < 0.6 else "Questions? Email me at {email}")
        titles.append(REVIEW_TITLES[b][int(ri[4] * 997) % len(REVIEW_TITLES[b])])
        bodies.append(_roughen(" ".join(parts).format_map(vals), ri[0], ri[7], own == 1))
    return titles, bodies


def survey_answers(rng: np.random.Generator, w: Writers) -> list[str | None]:
    """Open answer to "What would make you shop with us more?"; ~40% leave it empty."""
    n = len(w.type_id)
    r = rng.random((n, 9))
    out: list[str | None] = []
    for i in range(n):
        ri = r[i]
        if ri[0] < 0.4:
            out.append(None)
            continue
        own = int(w.type_id[i])
        themes = THEMES[TYPE_NAMES[_theme_type(own, ri[1], ri[2])]]
        th = themes[int(ri[3] * len(themes))]
        parts = [th.wishes[int(ri[4] * len(th.wishes))]]
        if ri[5] < 0.35:
            other = themes[(int(ri[3] * len(themes)) + 1) % len(themes)]
            parts.append(other.wishes[int(ri[6] * len(other.wishes))])
        if ri[7] < 0.3:
            parts.append(SURVEY_EXTRA[int(ri[8] * len(SURVEY_EXTRA))])
        if ri[8] < 0.04:
            parts.append(PII[int(ri[6] * len(PII))])
        text = " ".join(parts).format_map(_values(w, i, ri[2]))
        out.append(_roughen(text, ri[1], ri[4], own == 1))
    return out
