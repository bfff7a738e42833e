"""Names and titles for personas.

A persona's first name is drawn from a fixed list by the segment's majority
gender, age and the workspace's language (a German company gets German names;
languages without a list here draw from Faker's person names of that locale),
never from its customers' names; its title comes from the traits that set the
segment apart and the company's own category and attribute values.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

FIRST_NAMES_DE = {
    ("female", "young"): ["Lea", "Hannah", "Mia", "Lena", "Emma", "Sophie"],
    ("female", "middle"): ["Julia", "Katrin", "Sandra", "Nicole", "Stefanie", "Anja"],
    ("female", "older"): ["Monika", "Ursula", "Renate", "Brigitte", "Helga", "Gisela"],
    ("male", "young"): ["Lukas", "Leon", "Finn", "Jonas", "Paul", "Noah"],
    ("male", "middle"): ["Thomas", "Michael", "Andreas", "Stefan", "Markus", "Christian"],
    ("male", "older"): ["Klaus", "Jürgen", "Dieter", "Wolfgang", "Manfred", "Horst"],
}
FAKER_LOCALES = {
    "fr": "fr_FR",
    "es": "es_ES",
    "it": "it_IT",
    "nl": "nl_NL",
    "pt": "pt_PT",
    "pl": "pl_PL",
    "sv": "sv_SE",
    "da": "da_DK",
    "fi": "fi_FI",
    "no": "no_NO",
}

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
# Nouns that say how someone buys, whatever the company sells (what they buy comes from
# the company's own categories: "Garden Buyer").
NOUNS = {
    "store_share": "Store Regular",
    "app_share": "Mobile Shopper",
    "frequency": "Regular",
}


def age_band(median_age: float | None) -> str:
    if median_age is None:
        return "middle"
    return "young" if median_age < 32 else "older" if median_age >= 57 else "middle"


@lru_cache(maxsize=8)
def _faker_names(locale: str, gender: str) -> list[str]:
    from faker import Faker

    for provider in Faker(locale).providers:
        if "person" in type(provider).__module__:
            names = getattr(provider, f"first_names_{gender}", None)
            if names:
                return sorted(set(names))
    return []


def name_pool(gender: str, median_age: float | None, language: str = "en") -> list[str]:
    lang = language.split("_")[0].lower()
    band = age_band(median_age)
    if lang == "de":
        return FIRST_NAMES_DE[(gender, band)]
    if lang in FAKER_LOCALES:
        pool = _faker_names(FAKER_LOCALES[lang], gender)
        if pool:
            return pool
    return FIRST_NAMES[(gender, band)]


def pick_name(
    gender: str | None,
    median_age: float | None,
    *,
    key: str,
    taken: set[str],
    language: str = "en",
) -> str:
    """A first name that fits the segment, stable for the same key, unique within a set."""
    g = gender if gender in ("female", "male") else ("female" if key[-1] in "02468" else "male")
    pool = name_pool(g, median_age, language)
    start = int(hashlib.sha256(key.encode()).hexdigest(), 16) % len(pool)
    for i in range(len(pool)):
        name = pool[(start + i) % len(pool)]
        if name not in taken:
            return name
    return pool[start]


def make_title(
    traits: list[tuple[str, float]],
    *,
    default: str = "Shopper",
    noun: str | None = None,
    lead: str | None = None,
) -> str:
    """'The Deal-Seeking Store Regular' from the strongest (feature, z) traits.

    ``noun`` (from the company's own data: 'Garden Buyer', 'Month-to-month Customer') wins
    over the built-in nouns; ``lead`` ('Lapsed') comes first; ``default`` ends the title when
    nothing gives a noun ('Customer' for people who do not buy).
    """
    adjectives: list[str] = [lead] if lead else []
    for feature, z in traits:
        if noun is None and z > 0 and feature in NOUNS:
            noun = NOUNS[feature]
            continue
        words = TITLE_WORDS.get(feature)
        if lead and feature == "recency_days":
            continue
        if words and len(adjectives) < 2:
            word = words[0] if z > 0 else words[1]
            if word and word not in adjectives:
                adjectives.append(word)
    if noun is None:
        noun = default
    return "The " + " ".join([*adjectives[:2], noun])
