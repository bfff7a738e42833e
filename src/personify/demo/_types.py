"""The five latent customer types of the demo company (the ground truth).

Every number here is a *type mean*; persons draw their own values around it so that
types overlap and no single column separates them.
"""

from __future__ import annotations

from dataclasses import dataclass

CATEGORIES: tuple[str, ...] = (
    "furniture",
    "decor",
    "kitchen",
    "garden",
    "kids",
    "fashion",
    "tech_accessories",
    "bedding",
)
# Gross margin per category (share of the price the company keeps), for unit costs.
CATEGORY_MARGINS: tuple[float, ...] = (0.45, 0.60, 0.50, 0.40, 0.50, 0.60, 0.35, 0.55)
CHANNELS: tuple[str, ...] = ("web", "app", "store")
ACQUISITION_CHANNELS: tuple[str, ...] = (
    "paid_search",
    "paid_social",
    "organic_search",
    "referral",
    "email",
    "affiliate",
    "store",
    "direct",
)
INCOME_BANDS: tuple[str, ...] = (
    "under_20k",
    "20k_35k",
    "35k_50k",
    "50k_75k",
    "75k_100k",
    "over_100k",
)
EDUCATION: tuple[str, ...] = ("gcse", "a_level", "bachelor", "master", "doctorate")
MARITAL: tuple[str, ...] = ("single", "married", "cohabiting", "divorced", "widowed")
JOB_GROUPS: tuple[str, ...] = (
    "student",
    "junior",
    "skilled",
    "professional",
    "manager",
    "retired",
    "homemaker",
)
SURVEY_ITEMS: tuple[str, ...] = (
    "q_price_conscious",
    "q_quality_first",
    "q_sustainability",
    "q_tech_savvy",
    "q_brand_loyal",
    "q_convenience",
    "q_trend_seeker",
    "q_prefers_store",
)
TICKET_CHANNELS: tuple[str, ...] = ("email", "phone", "chat")


@dataclass(frozen=True)
class LatentType:
    """Parameters of one latent customer type (probability tuples follow the constants above)."""

    type_id: int
    name: str
    share: float
    age: tuple[int, int]
    female: float
    marital: tuple[float, ...]
    income: tuple[float, ...]
    education: tuple[float, ...]
    jobs: tuple[float, ...]
    purchases_per_year: float
    lifetime_months: float  # mean time between acquisition and churn
    channel_mix: tuple[float, float, float]  # web, app, store
    items_per_basket: float
    price_pref: float  # >0 prefers expensive products within a category
    categories: tuple[float, ...]
    discount_rate: float  # share of purchases with a code/markdown
    return_rate: float  # share of online lines returned
    email_open: float
    email_click: float  # given opened
    promo_affinity: float  # click multiplier for promotion emails
    unsubscribe: float  # per received email
    sends_per_year: float
    acquisition: tuple[float, ...]
    p_crm: float
    p_account: float
    p_loyalty: float
    sessions_per_year: float
    tickets_per_year: float
    ticket_channels: tuple[float, float, float]
    review_rate: float  # per online order line
    rating: float
    p_survey: float
    survey: tuple[float, ...]  # mean Likert answer per SURVEY_ITEMS


LATENT_TYPES: tuple[LatentType, ...] = (
    LatentType(
        type_id=0,
        name="value_families",
        share=0.28,
        age=(30, 48),
        female=0.58,
        marital=(0.05, 0.72, 0.16, 0.06, 0.01),
        income=(0.05, 0.30, 0.35, 0.20, 0.07, 0.03),
        education=(0.25, 0.35, 0.30, 0.09, 0.01),
        jobs=(0.0, 0.10, 0.35, 0.25, 0.12, 0.0, 0.18),
        purchases_per_year=3.6,
        lifetime_months=30,
        channel_mix=(0.50, 0.15, 0.35),
        items_per_basket=2.8,
        price_pref=-0.5,
        categories=(1.0, 1.5, 2.5, 1.0, 3.2, 0.8, 0.5, 1.5),
        discount_rate=0.55,
        return_rate=0.08,
        email_open=0.35,
        email_click=0.22,
        promo_affinity=2.2,
        unsubscribe=0.004,
        sends_per_year=3.0,
        acquisition=(0.15, 0.18, 0.18, 0.15, 0.05, 0.06, 0.10, 0.13),
        p_crm=0.92,
        p_account=0.88,
        p_loyalty=0.45,
        sessions_per_year=0.45,
        tickets_per_year=0.06,
        ticket_channels=(0.5, 0.3, 0.2),
        review_rate=0.05,
        rating=3.8,
        p_survey=0.10,
        survey=(4.3, 3.0, 3.0, 3.0, 3.2, 4.0, 2.5, 3.0),
    ),
    LatentType(
        type_id=1,
        name="young_digital",
        share=0.24,
        age=(18, 29),
        female=0.55,
        marital=(0.70, 0.05, 0.25, 0.0, 0.0),
        income=(0.35, 0.40, 0.17, 0.06, 0.015, 0.005),
        education=(0.20, 0.35, 0.35, 0.10, 0.0),
        jobs=(0.40, 0.45, 0.10, 0.05, 0.0, 0.0, 0.0),
        purchases_per_year=5.2,
        lifetime_months=20,
        channel_mix=(0.22, 0.68, 0.10),
        items_per_basket=1.4,
        price_pref=-0.5,
        categories=(0.4, 1.5, 0.5, 0.1, 0.1, 3.0, 3.0, 0.6),
        discount_rate=0.30,
        return_rate=0.25,
        email_open=0.15,
        email_click=0.25,
        promo_affinity=1.3,
        unsubscribe=0.01,
        sends_per_year=3.0,
        acquisition=(0.10, 0.45, 0.13, 0.15, 0.02, 0.05, 0.02, 0.08),
        p_crm=0.85,
        p_account=0.97,
        p_loyalty=0.12,
        sessions_per_year=1.6,
        tickets_per_year=0.06,
        ticket_channels=(0.25, 0.05, 0.70),
        review_rate=0.04,
        rating=3.6,
        p_survey=0.08,
        survey=(3.8, 2.8, 3.4, 4.6, 2.3, 4.2, 4.4, 1.6),
    ),
    LatentType(
        type_id=2,
        name="affluent_professionals",
        share=0.16,
        age=(35, 58),
        female=0.48,
        marital=(0.15, 0.65, 0.12, 0.08, 0.0),
        income=(0.0, 0.02, 0.08, 0.30, 0.30, 0.30),
        education=(0.03, 0.10, 0.45, 0.32, 0.10),
        jobs=(0.0, 0.0, 0.05, 0.50, 0.45, 0.0, 0.0),
        purchases_per_year=2.5,
        lifetime_months=34,
        channel_mix=(0.68, 0.10, 0.22),
        items_per_basket=2.3,
        price_pref=1.2,
        categories=(3.0, 2.5, 1.5, 1.0, 0.4, 0.8, 0.8, 1.5),
        discount_rate=0.06,
        return_rate=0.06,
        email_open=0.40,
        email_click=0.25,
        promo_affinity=0.6,
        unsubscribe=0.004,
        sends_per_year=3.0,
        acquisition=(0.08, 0.07, 0.30, 0.20, 0.05, 0.00, 0.05, 0.25),
        p_crm=0.93,
        p_account=0.92,
        p_loyalty=0.30,
        sessions_per_year=0.6,
        tickets_per_year=0.06,
        ticket_channels=(0.60, 0.10, 0.30),
        review_rate=0.04,
        rating=4.0,
        p_survey=0.08,
        survey=(1.8, 4.6, 3.9, 3.6, 3.8, 4.3, 3.3, 2.4),
    ),
    LatentType(
        type_id=3,
        name="store_loyalists",
        share=0.20,
        age=(58, 82),
        female=0.60,
        marital=(0.10, 0.55, 0.0, 0.10, 0.25),
        income=(0.30, 0.40, 0.20, 0.07, 0.02, 0.01),
        education=(0.50, 0.30, 0.15, 0.04, 0.01),
        jobs=(0.0, 0.0, 0.05, 0.05, 0.0, 0.90, 0.0),
        purchases_per_year=4.0,
        lifetime_months=40,
        channel_mix=(0.12, 0.03, 0.85),
        items_per_basket=2.4,
        price_pref=0.0,
        categories=(1.0, 2.0, 2.0, 3.0, 0.6, 0.3, 0.1, 1.8),
        discount_rate=0.15,
        return_rate=0.03,
        email_open=0.45,
        email_click=0.06,
        promo_affinity=1.0,
        unsubscribe=0.002,
        sends_per_year=3.0,
        acquisition=(0.03, 0.00, 0.10, 0.10, 0.02, 0.00, 0.60, 0.15),
        p_crm=0.60,
        p_account=0.35,
        p_loyalty=0.92,
        sessions_per_year=0.1,
        tickets_per_year=0.05,
        ticket_channels=(0.25, 0.70, 0.05),
        review_rate=0.03,
        rating=4.1,
        p_survey=0.12,
        survey=(3.6, 3.8, 2.8, 1.5, 4.5, 2.8, 1.6, 4.8),
    ),
    LatentType(
        type_id=4,
        name="one_time_bargain_hunters",
        share=0.12,
        age=(20, 50),
        female=0.50,
        marital=(0.45, 0.30, 0.20, 0.05, 0.0),
        income=(0.20, 0.35, 0.25, 0.12, 0.05, 0.03),
        education=(0.30, 0.35, 0.25, 0.08, 0.02),
        jobs=(0.10, 0.30, 0.35, 0.15, 0.05, 0.0, 0.05),
        purchases_per_year=3.0,
        lifetime_months=2.5,
        channel_mix=(0.75, 0.15, 0.10),
        items_per_basket=1.5,
        price_pref=-0.2,
        categories=(1.0, 1.0, 1.2, 0.8, 0.8, 1.5, 1.5, 0.8),
        discount_rate=0.90,
        return_rate=0.35,
        email_open=0.20,
        email_click=0.30,
        promo_affinity=2.0,
        unsubscribe=0.08,
        sends_per_year=6.0,
        acquisition=(0.45, 0.10, 0.05, 0.0, 0.0, 0.35, 0.0, 0.05),
        p_crm=0.88,
        p_account=0.65,
        p_loyalty=0.05,
        sessions_per_year=4.0,
        tickets_per_year=1.0,
        ticket_channels=(0.60, 0.10, 0.30),
        review_rate=0.10,
        rating=2.6,
        p_survey=0.05,
        survey=(4.8, 2.2, 2.0, 3.4, 1.4, 3.5, 3.0, 1.8),
    ),
)

TYPE_NAMES: tuple[str, ...] = tuple(t.name for t in LATENT_TYPES)
