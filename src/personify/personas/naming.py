"""Names and titles for personas.

A persona's first name is drawn from a fixed list by the segment's majority
gender and age, never from its customers' names; its title comes from the
traits that set the segment apart.
"""

from __future__ import annotations

import hashlib

FIRST_NAMES = {
    ("female", "young"): ["Maya", "Chloe", "Zara", "Amelia", "Isla", "Freya"],
    ("female", "middle"): ["Sarah", "Emma", "Rachel", "Laura", "Hannah", "Priya"],
    ("female", "older"): ["Margaret", "Patricia", "Susan", "Jean", "Brenda", "Carol"],
    ("male", "young"): ["Leo", "Noah", "Kai", "Ethan", "Jamal", "Finn"],
    ("male", "middle"): ["James", "David", "Mark", "Daniel", "Raj", "Chris"],
    ("male", "older"): ["Geoffrey", "Peter", "Brian", "Alan", "Derek", "Malcolm"],
}

# Short labels for titles: feature -> (when high, when low). Nouns end a title.
TITLE_WORDS: dict[str, tuple[str, str]] = {
    "age": ("Seasoned", "Young"),
    "frequency": ("Frequent", "Occasional"),
    "monetary": ("High-Spending", "Low-Spending"),
    "avg_order_value": ("Big-Basket", "Small-Basket"),
    "recency_days": ("Lapsing", "Active"),
    # Rarely using one online channel says nothing about the others: no word for "low".
    "app_share": ("App-First", ""),
    "web_share": ("Web-Shop", ""),
    "store_share": ("In-Store", "Online"),
    "discount_share": ("Deal-Seeking", "Full-Price"),
    "return_rate": ("Serial-Returning", "Decisive"),
    "email_open_rate": ("Newsletter-Reading", "Inbox-Ignoring"),
    "email_click_rate": ("Click-Happy", "Hard-to-Reach"),
}
NOUNS = {
    "store_share": "Store Regular",
    "app_share": "Mobile Shopper",
    "discount_share": "Bargain Hunter",
    "avg_order_value": "Home Investor",
    "monetary": "Loyal Spender",
    "return_rate": "Trial Shopper",
    "recency_days": "One-Off Buyer",
    "frequency": "Regular",
}


def age_band(median_age: float | None) -> str:
    if median_age is None:
        return "middle"
    return "young" if median_age < 32 else "older" if median_age >= 57 else "middle"


def pick_name(gender: str | None, median_age: float | None, *, key: str, taken: set[str]) -> str:
    """A first name that fits the segment, stable for the same key, unique within a set."""
    g = gender if gender in ("female", "male") else ("female" if key[-1] in "02468" else "male")
    pool = FIRST_NAMES[(g, age_band(median_age))]
    start = int(hashlib.sha256(key.encode()).hexdigest(), 16) % len(pool)
    for i in range(len(pool)):
        name = pool[(start + i) % len(pool)]
        if name not in taken:
            return name
    return pool[start]


def make_title(traits: list[tuple[str, float]], *, default: str = "Shopper") -> str:
    """'The Deal-Seeking Store Regular' from the strongest (feature, z) traits.

    ``default`` ends the title when no trait gives a noun ('Customer' for people who do not buy).
    """
    noun: str | None = None
    adjectives: list[str] = []
    for feature, z in traits:
        if noun is None and z > 0 and feature in NOUNS:
            noun = NOUNS[feature]
            continue
        words = TITLE_WORDS.get(feature)
        if words and len(adjectives) < 2:
            word = words[0] if z > 0 else words[1]
            if word and word not in adjectives:
                adjectives.append(word)
    if noun is None:
        noun = default
    return "The " + " ".join([*adjectives[:2], noun])
