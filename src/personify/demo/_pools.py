"""Small reference pools: names, towns, stores, products, campaigns, discount codes.

Faker is used only here, once per run, to draw a few thousand names; rows never call Faker.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
from faker import Faker

from ._types import CATEGORIES, JOB_GROUPS, LATENT_TYPES

# (town, postcode area, relative population); store i is in town i.
TOWNS: tuple[tuple[str, str, float], ...] = (
    ("London", "SE", 9.0),
    ("Birmingham", "B", 2.6),
    ("Manchester", "M", 2.8),
    ("Leeds", "LS", 1.8),
    ("Glasgow", "G", 1.7),
    ("Liverpool", "L", 1.5),
    ("Bristol", "BS", 1.3),
    ("Sheffield", "S", 1.3),
    ("Edinburgh", "EH", 1.2),
    ("Cardiff", "CF", 1.0),
    ("Leicester", "LE", 0.9),
    ("Nottingham", "NG", 1.0),
    ("Newcastle upon Tyne", "NE", 1.1),
    ("Southampton", "SO", 0.8),
    ("Brighton", "BN", 0.7),
    ("Norwich", "NR", 0.5),
    ("York", "YO", 0.5),
    ("Oxford", "OX", 0.5),
    ("Cambridge", "CB", 0.5),
    ("Reading", "RG", 0.6),
    ("Exeter", "EX", 0.4),
    ("Plymouth", "PL", 0.5),
    ("Bath", "BA", 0.3),
    ("Coventry", "CV", 0.7),
    ("Derby", "DE", 0.5),
    ("Stoke-on-Trent", "ST", 0.5),
    ("Hull", "HU", 0.5),
    ("Bradford", "BD", 0.6),
    ("Aberdeen", "AB", 0.4),
    ("Dundee", "DD", 0.3),
    ("Swansea", "SA", 0.4),
    ("Belfast", "BT", 0.7),
    ("Milton Keynes", "MK", 0.5),
    ("Portsmouth", "PO", 0.5),
    ("Bournemouth", "BH", 0.4),
    ("Ipswich", "IP", 0.3),
    ("Gloucester", "GL", 0.3),
    ("Chester", "CH", 0.3),
    ("Lincoln", "LN", 0.3),
    ("Preston", "PR", 0.3),
)

EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("gmail.com", 0.40),
    ("hotmail.co.uk", 0.14),
    ("outlook.com", 0.12),
    ("yahoo.co.uk", 0.08),
    ("icloud.com", 0.10),
    ("btinternet.com", 0.06),
    ("sky.com", 0.04),
    ("live.co.uk", 0.04),
    ("aol.com", 0.02),
)

JOB_TITLES: dict[str, tuple[str, ...]] = {
    "student": ("Student", "Undergraduate Student", "Postgraduate Student", "Apprentice"),
    "junior": (
        "Sales Assistant",
        "Barista",
        "Junior Designer",
        "Customer Service Advisor",
        "Marketing Assistant",
        "Junior Developer",
        "Retail Assistant",
        "Administrator",
        "Warehouse Operative",
        "Receptionist",
        "Content Creator",
    ),
    "skilled": (
        "Electrician",
        "Plumber",
        "Nurse",
        "Teacher",
        "Bus Driver",
        "Chef",
        "Hairdresser",
        "Carpenter",
        "Police Officer",
        "Paramedic",
        "Mechanic",
        "Office Manager",
        "Teaching Assistant",
    ),
    "professional": (
        "Software Engineer",
        "Solicitor",
        "Accountant",
        "Architect",
        "Doctor",
        "Pharmacist",
        "Civil Engineer",
        "Consultant",
        "Data Analyst",
        "Physiotherapist",
        "Dentist",
        "Surveyor",
    ),
    "manager": (
        "Managing Director",
        "Head of Marketing",
        "Finance Director",
        "Operations Manager",
        "Product Manager",
        "Partner",
        "Senior Manager",
        "Chief Executive",
        "Programme Director",
        "Head of Sales",
    ),
    "retired": ("Retired", "Retired Teacher", "Retired Nurse", "Pensioner", "Retired Engineer"),
    "homemaker": ("Homemaker", "Full-time Parent", "Carer", "Stay-at-home Parent"),
}

# category -> (noun, base price) and material/colour variants
PRODUCT_NOUNS: dict[str, tuple[tuple[str, float], ...]] = {
    "furniture": (
        ("Sofa", 650),
        ("Armchair", 320),
        ("Coffee Table", 180),
        ("Dining Table", 480),
        ("Dining Chair", 95),
        ("Bookcase", 210),
        ("Sideboard", 390),
        ("Bed Frame", 420),
        ("Wardrobe", 520),
        ("Desk", 240),
        ("Bedside Table", 110),
        ("TV Unit", 260),
        ("Footstool", 85),
        ("Console Table", 170),
    ),
    "decor": (
        ("Table Lamp", 45),
        ("Floor Lamp", 95),
        ("Mirror", 75),
        ("Vase", 22),
        ("Cushion", 18),
        ("Throw", 35),
        ("Rug", 120),
        ("Candle Set", 15),
        ("Picture Frame", 12),
        ("Wall Clock", 30),
        ("Plant Pot", 14),
        ("Wall Art Print", 40),
        ("Curtains", 60),
    ),
    "kitchen": (
        ("Saucepan Set", 85),
        ("Frying Pan", 32),
        ("Knife Block", 60),
        ("Dinner Set", 70),
        ("Mug Set", 18),
        ("Glassware Set", 24),
        ("Kettle", 45),
        ("Toaster", 40),
        ("Chopping Board", 15),
        ("Storage Jars", 20),
        ("Cutlery Set", 35),
        ("Casserole Dish", 55),
        ("Mixing Bowls", 22),
    ),
    "garden": (
        ("Parasol", 80),
        ("Garden Bench", 190),
        ("Bistro Set", 150),
        ("Planter", 35),
        ("Hose Reel", 40),
        ("Solar Lights", 25),
        ("BBQ", 220),
        ("Lounger", 130),
        ("Bird Feeder", 16),
        ("Watering Can", 14),
        ("Outdoor Rug", 55),
        ("Fire Pit", 140),
        ("Garden Tools Set", 45),
    ),
    "kids": (
        ("Bunk Bed", 380),
        ("Toy Storage", 60),
        ("Kids Desk", 90),
        ("Play Tent", 35),
        ("Night Light", 15),
        ("Kids Duvet Set", 25),
        ("Bean Bag", 40),
        ("Height Chart", 12),
        ("Kids Rug", 45),
        ("Lunch Box Set", 12),
        ("Art Easel", 50),
        ("Wooden Train Set", 30),
    ),
    "fashion": (
        ("Knit Jumper", 38),
        ("Linen Shirt", 32),
        ("Tote Bag", 22),
        ("Scarf", 18),
        ("Slippers", 20),
        ("Lounge Set", 45),
        ("Rain Jacket", 65),
        ("Beanie", 14),
        ("Sunglasses", 25),
        ("Leather Belt", 28),
        ("Canvas Trainers", 42),
        ("Pyjamas", 30),
    ),
    "tech_accessories": (
        ("Phone Case", 15),
        ("Wireless Charger", 28),
        ("Bluetooth Speaker", 45),
        ("Headphones", 60),
        ("Smart Plug", 18),
        ("Laptop Stand", 35),
        ("Cable Organiser", 10),
        ("USB Desk Lamp", 40),
        ("Power Bank", 25),
        ("Earbuds", 50),
        ("Smart Bulb", 14),
        ("Tablet Sleeve", 20),
    ),
    "bedding": (
        ("Duvet", 60),
        ("Pillow Pair", 28),
        ("Duvet Cover Set", 45),
        ("Fitted Sheet", 20),
        ("Mattress Topper", 80),
        ("Mattress", 350),
        ("Weighted Blanket", 70),
        ("Bedspread", 50),
        ("Electric Blanket", 55),
        ("Pillowcases", 15),
    ),
}
VARIANTS: dict[str, tuple[str, ...]] = {
    "furniture": ("Oak", "Walnut", "Ash", "Rattan", "Velvet", "Linen", "Pine", "Charcoal", "Sage"),
    "decor": (
        "Brass",
        "Ceramic",
        "Linen",
        "Velvet",
        "Terracotta",
        "Marble",
        "Ivory",
        "Ochre",
        "Glass",
    ),
    "kitchen": ("Stoneware", "Enamel", "Copper", "Bamboo", "Stainless", "Ceramic", "Sage", "Cream"),
    "garden": (
        "Acacia",
        "Rattan",
        "Teak",
        "Zinc",
        "Charcoal",
        "Olive",
        "Terracotta",
        "Weatherproof",
    ),
    "kids": ("Rainbow", "Dino", "Star", "Pastel", "Woodland", "Ocean", "Space", "Bunny"),
    "fashion": ("Cotton", "Wool", "Linen", "Navy", "Oatmeal", "Black", "Blush", "Khaki"),
    "tech_accessories": (
        "Matte",
        "Graphite",
        "White",
        "Compact",
        "Travel",
        "Fast-Charge",
        "Walnut",
        "Slim",
    ),
    "bedding": (
        "Cotton",
        "Linen",
        "Duck Feather",
        "Hypoallergenic",
        "Cooling",
        "Brushed",
        "Egyptian Cotton",
        "Teal",
    ),
}
COLLECTIONS: tuple[str, ...] = (
    "Oslo",
    "Harrow",
    "Linden",
    "Marlow",
    "Alder",
    "Hartley",
    "Kew",
    "Rowan",
    "Ember",
    "Cove",
    "Brook",
    "Ashby",
    "Wren",
    "Fenwick",
    "Nordby",
    "Calder",
)
PRODUCTS_PER_CATEGORY = 55

# (code, percent off, weight per latent type)
DISCOUNT_CODES: tuple[tuple[str, int, tuple[float, ...]], ...] = (
    ("WELCOME10", 10, (1, 1, 1, 1, 3)),
    ("SAVE15", 15, (3, 1, 1, 1, 2)),
    ("FAMILY20", 20, (4, 0, 0, 0.5, 0.5)),
    ("STUDENT10", 10, (0, 4, 0, 0, 0.5)),
    ("APP10", 10, (0.5, 3, 0.3, 0, 0.5)),
    ("SEASONAL20", 20, (2, 1, 1, 1, 1)),
    ("FLASH25", 25, (1.5, 1, 0.2, 0.3, 2)),
    ("BLACKFRIDAY30", 30, (1.5, 1.5, 0.5, 0.3, 2.5)),
    ("FREEDEL", 5, (2, 0.5, 1, 1, 0.5)),
    ("VIP10", 10, (0.3, 0.2, 2, 1, 0)),
    ("AFF-VOUCHER15", 15, (0.2, 0.2, 0, 0, 4)),
    ("AFF-CASHBACK20", 20, (0.2, 0.2, 0, 0, 3)),
)

# acquisition campaigns: (campaign_id, channel, cost per acquired customer in GBP)
ACQ_CAMPAIGNS: tuple[tuple[str, str, float], ...] = (
    ("PS-BRAND", "paid_search", 38.0),
    ("PS-GENERIC", "paid_search", 62.0),
    ("PS-SHOPPING", "paid_search", 55.0),
    ("SOC-TIKTOK", "paid_social", 16.0),
    ("SOC-INSTAGRAM", "paid_social", 20.0),
    ("SOC-FACEBOOK", "paid_social", 24.0),
    ("ORG-SEO", "organic_search", 1.5),
    ("REF-FRIEND", "referral", 10.0),
    ("EM-NEWSLETTER", "email", 0.8),
    ("AFF-VOUCHERS", "affiliate", 42.0),
    ("AFF-CASHBACK", "affiliate", 48.0),
    ("STORE-SIGNUP", "store", 0.0),
    ("DIRECT", "direct", 0.0),
)

EMAIL_THEMES: tuple[str, ...] = ("promotion", "new_arrivals", "inspiration", "loyalty")
_CAMPAIGN_NAMES: dict[str, tuple[str, ...]] = {
    "promotion": (
        "{season} Sale",
        "Weekend Flash Sale",
        "Extra 20% Off {cat}",
        "Clearance Event",
        "Mid-Season Deals",
        "Last Chance Offers",
    ),
    "new_arrivals": (
        "New In: {cat}",
        "Fresh for {season}",
        "Just Landed: {cat}",
        "The {season} Edit",
    ),
    "inspiration": (
        "Style Your {room}",
        "5 Ideas for Your {room}",
        "{season} Home Inspiration",
        "Small Space, Big Ideas",
    ),
    "loyalty": (
        "Members' Evening",
        "Your Points Are Waiting",
        "Double Points Week",
        "A Thank You for Members",
    ),
}
_SEASONS = (
    "Winter",
    "Winter",
    "Spring",
    "Spring",
    "Spring",
    "Summer",
    "Summer",
    "Summer",
    "Autumn",
    "Autumn",
    "Autumn",
    "Winter",
)
_ROOMS = ("Living Room", "Kitchen", "Bedroom", "Garden", "Home Office", "Hallway", "Kids' Room")

_NAME_OK = re.compile(r"^[A-Za-z][A-Za-z' -]+$")


@dataclass(frozen=True)
class Pools:
    first_female: np.ndarray
    first_female_p: np.ndarray
    first_male: np.ndarray
    first_male_p: np.ndarray
    last: np.ndarray
    last_p: np.ndarray
    product_id: np.ndarray
    product_name: np.ndarray
    product_cat: np.ndarray  # category index
    product_price: np.ndarray
    type_cat_cdf: tuple[tuple[np.ndarray, np.ndarray], ...]  # [type*8+cat] -> (product idx, cdf)
    campaign_id: np.ndarray
    campaign_theme: np.ndarray
    campaign_day: np.ndarray  # days since 2023-01-01
    campaign_name: np.ndarray


def _name_pool(draw: list[str]) -> tuple[np.ndarray, np.ndarray]:
    counts = Counter(n for n in draw if _NAME_OK.match(n) and n.isascii())
    names = sorted(counts)
    weights = np.array([counts[n] for n in names], dtype=float)
    return np.array(names, dtype=object), weights / weights.sum()


def _products(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    names: list[str] = []
    cats: list[int] = []
    prices: list[float] = []
    for ci, cat in enumerate(CATEGORIES):
        seen: set[str] = set()
        nouns, variants = PRODUCT_NOUNS[cat], VARIANTS[cat]
        while len(seen) < PRODUCTS_PER_CATEGORY:
            noun, base = nouns[rng.integers(len(nouns))]
            collection = COLLECTIONS[rng.integers(len(COLLECTIONS))]
            name = f"{collection} {variants[rng.integers(len(variants))]} {noun}"
            if name in seen:
                continue
            seen.add(name)
            price = base * float(np.exp(rng.normal(0.0, 0.45)))
            price = round(price) - 0.01 if price > 10 else round(price, 1) - 0.01
            names.append(name)
            cats.append(ci)
            prices.append(max(price, 2.99))
    ids = np.array([f"P{1001 + i}" for i in range(len(names))], dtype=object)
    return ids, np.array(names, dtype=object), np.array(cats), np.round(np.array(prices), 2)


def _type_cat_cdf(
    cats: np.ndarray, prices: np.ndarray
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Within each category, types prefer cheaper or dearer products (price_pref)."""
    out = []
    for t in LATENT_TYPES:
        for ci in range(len(CATEGORIES)):
            idx = np.flatnonzero(cats == ci)
            logp = np.log(prices[idx])
            z = (logp - logp.mean()) / logp.std()
            w = np.exp(t.price_pref * z)
            out.append((idx, np.cumsum(w) / w.sum()))
    return tuple(out)


def _email_campaigns(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    days = np.arange(4, 365 * 3 + 1, 7)  # Thursdays from 2023-01-05
    themes = rng.choice(len(EMAIL_THEMES), size=len(days), p=[0.4, 0.25, 0.2, 0.15])
    names = []
    for d, th in zip(days, themes, strict=True):
        month = int((np.datetime64("2023-01-01") + int(d)).astype("datetime64[M]").astype(int) % 12)
        year = 2023 + int(d) // 365
        bank = _CAMPAIGN_NAMES[EMAIL_THEMES[th]]
        name = bank[rng.integers(len(bank))].format(
            season=_SEASONS[month],
            cat=CATEGORIES[rng.integers(len(CATEGORIES))].replace("_", " ").title(),
            room=_ROOMS[rng.integers(len(_ROOMS))],
        )
        names.append(f"{name} {year}")
    ids = np.array([f"EC{i + 1:04d}" for i in range(len(days))], dtype=object)
    return ids, np.array(EMAIL_THEMES, dtype=object)[themes], days, np.array(names, dtype=object)


# locale -> names drawn; mostly British, with the Irish, American, Indian and NZ names of a UK city
NAME_LOCALES: tuple[tuple[str, int], ...] = (
    ("en_GB", 6000),
    ("en_IE", 1600),
    ("en_US", 1400),
    ("en_IN", 1400),
    ("en_NZ", 1000),
)


def _faker_names(seed: int) -> tuple[list[str], list[str], list[str]]:
    female: list[str] = []
    male: list[str] = []
    last: list[str] = []
    for i, (locale, k) in enumerate(NAME_LOCALES):
        fake = Faker(locale)
        fake.seed_instance(seed * 100 + i)
        female += [fake.first_name_female() for _ in range(k // 2)]
        male += [fake.first_name_male() for _ in range(k // 2)]
        last += [fake.last_name() for _ in range(k)]
    return female, male, last


def build_pools(seed: int) -> Pools:
    female, male, last = _faker_names(seed)
    ff, fm, ln = _name_pool(female), _name_pool(male), _name_pool(last)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(10**6,)))
    pid, pname, pcat, pprice = _products(rng)
    cid, ctheme, cday, cname = _email_campaigns(rng)
    return Pools(
        first_female=ff[0],
        first_female_p=ff[1],
        first_male=fm[0],
        first_male_p=fm[1],
        last=ln[0],
        last_p=ln[1],
        product_id=pid,
        product_name=pname,
        product_cat=pcat,
        product_price=pprice,
        type_cat_cdf=_type_cat_cdf(pcat, pprice),
        campaign_id=cid,
        campaign_theme=ctheme,
        campaign_day=cday,
        campaign_name=cname,
    )


def job_titles_flat() -> tuple[np.ndarray, np.ndarray]:
    """All titles and each title's job group index."""
    titles: list[str] = []
    groups: list[int] = []
    for gi, g in enumerate(JOB_GROUPS):
        titles += JOB_TITLES[g]
        groups += [gi] * len(JOB_TITLES[g])
    return np.array(titles, dtype=object), np.array(groups)
