"""The catalogue of profile attributes: what each means, how to show it, how to model it.

One list serves three stages: profiles compute these columns, segmentation
picks the model inputs from it, personas describe segments with its labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Format = Literal["percent", "currency", "days", "count", "number", "years"]


@dataclass(frozen=True)
class Feature:
    name: str
    label: str  # a noun phrase, as on a persona card
    format: Format
    group: Literal["demographic", "behavioral", "value", "engagement", "psychographic"]
    model: bool = False  # an input of the segmentation model
    log: bool = False  # heavy-tailed: model log1p(x)
    high: str = ""  # trait text when the segment is well above average
    low: str = ""  # ... and well below


FEATURES: list[Feature] = [
    Feature(
        "age",
        "Age",
        "years",
        "demographic",
        model=True,
        high="Is older than most customers",
        low="Is younger than most customers",
    ),
    Feature(
        "frequency",
        "Purchases",
        "count",
        "behavioral",
        model=True,
        log=True,
        high="Buys often",
        low="Buys rarely",
    ),
    Feature(
        "monetary",
        "Revenue to date",
        "currency",
        "value",
        model=True,
        log=True,
        high="Spends much more than average",
        low="Spends little",
    ),
    Feature(
        "avg_order_value",
        "Average basket",
        "currency",
        "value",
        model=True,
        log=True,
        high="Fills large baskets",
        low="Buys small baskets",
    ),
    Feature(
        "recency_days",
        "Days since last purchase",
        "days",
        "behavioral",
        model=True,
        high="Has not bought for a long time",
        low="Bought recently",
    ),
    Feature(
        "tenure_days",
        "Days since first purchase",
        "days",
        "behavioral",
        high="Has been a customer for long",
        low="Is a new customer",
    ),
    Feature(
        "app_share",
        "Purchases made in the app",
        "percent",
        "behavioral",
        model=True,
        high="Buys in the app",
        low="Rarely uses the app",
    ),
    Feature(
        "web_share",
        "Purchases made on the website",
        "percent",
        "behavioral",
        model=True,
        high="Buys on the website",
        low="Rarely buys on the website",
    ),
    Feature(
        "store_share",
        "Purchases made in store",
        "percent",
        "behavioral",
        model=True,
        high="Shops in store",
        low="Rarely visits a store",
    ),
    Feature(
        "discount_share",
        "Purchases with a discount",
        "percent",
        "behavioral",
        model=True,
        high="Buys on discount",
        low="Pays full price",
    ),
    Feature(
        "return_rate",
        "Items returned",
        "percent",
        "behavioral",
        model=True,
        high="Returns a lot",
        low="Rarely returns",
    ),
    Feature(
        "email_open_rate",
        "Emails opened",
        "percent",
        "engagement",
        model=True,
        high="Opens our emails",
        low="Ignores our emails",
    ),
    Feature(
        "email_click_rate",
        "Emails clicked",
        "percent",
        "engagement",
        model=True,
        high="Clicks through our emails",
        low="Rarely clicks our emails",
    ),
    Feature(
        "web_events",
        "Tracked web and app events",
        "count",
        "engagement",
        log=True,
        high="Browses a lot online",
        low="Rarely browses online",
    ),
    Feature(
        "tickets",
        "Support tickets",
        "count",
        "engagement",
        high="Contacts support often",
        low="Rarely contacts support",
    ),
    Feature(
        "avg_rating",
        "Average review rating",
        "number",
        "engagement",
        high="Rates products highly",
        low="Gives low ratings",
    ),
    Feature(
        "acquisition_cost",
        "Acquisition cost",
        "currency",
        "value",
        high="Cost a lot to acquire",
        low="Cost little to acquire",
    ),
]

FEATURE_BY_NAME = {f.name: f for f in FEATURES}
CATEGORY_PREFIX = "cat_"
SURVEY_PREFIX = "q_"


def describe(name: str) -> Feature:
    """The catalogue entry for a column, including the dynamic category and survey columns."""
    if name in FEATURE_BY_NAME:
        return FEATURE_BY_NAME[name]
    if name.startswith(CATEGORY_PREFIX):
        cat = name[len(CATEGORY_PREFIX) :].replace("_", " ")
        return Feature(
            name,
            f"Share of spend on {cat}",
            "percent",
            "behavioral",
            model=True,
            high=f"Spends more on {cat}",
            low=f"Spends less on {cat}",
        )
    if name.startswith(SURVEY_PREFIX):
        item = name[len(SURVEY_PREFIX) :].replace("_", " ")
        return Feature(
            name,
            f"Survey: {item} (1-5)",
            "number",
            "psychographic",
            high=f"Rates '{item}' high in surveys",
            low=f"Rates '{item}' low in surveys",
        )
    return Feature(name, name.replace("_", " ").capitalize(), "number", "behavioral")
