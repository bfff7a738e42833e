"""The catalogue of profile attributes: what each means, how to show it, how to model it.

One list serves three stages: profiles compute these columns, segmentation
picks the model inputs from it, personas describe segments with its labels.
A workspace adds what its config declares (``Catalogue``): custom attributes
(profile columns ``attr_<name>``) and survey scales (``scale_<name>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from personify.config import Config

Format = Literal["percent", "currency", "days", "count", "number", "years", "date", "category"]


@dataclass(frozen=True)
class Feature:
    name: str
    label: str  # a noun phrase, as on a persona card
    format: Format
    group: Literal["demographic", "behavioral", "value", "engagement", "psychographic", "custom"]
    model: bool = False  # an input of the segmentation model
    log: bool = False  # heavy-tailed: model log1p(x)
    high: str = ""  # trait text when the segment is well above average
    low: str = ""  # ... and well below
    meaning: str = ""  # what it says about a person, for docs and evidence
    unit: str = ""
    computed: str = ""  # from which tables, how
    appended_from: str = ""  # third-party data: where it comes from (never the customer's word)


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
        meaning="Tenure: how long the person has been a customer",
        unit="days",
        computed="calendar days from the first purchase to as_of",
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

# The voice of the customer (profiles/voice.py): what people write.
FEATURES += [
    Feature(
        "voice_texts",
        "Texts written",
        "count",
        "engagement",
        meaning="How many texts (tickets, reviews, survey answers, declared open answers) "
        "the person wrote",
        unit="texts",
        computed="count of the person's rows in voice_texts (empty texts left out)",
    ),
    Feature(
        "voice_sentiment",
        "Sentiment of what they write",
        "number",
        "psychographic",
        high="Writes warmly about us",
        low="Writes critically about us",
        meaning="How positive the person's texts are, from -1 (negative) to 1 (positive)",
        unit="score -1..1",
        computed="mean over the person's texts of VADER's compound score averaged over each "
        "text's sentences (English only; empty for other locale.language)",
    ),
    Feature(
        "voice_theme",
        "Main theme of what they write",
        "category",
        "psychographic",
        meaning="The topic most of the person's texts are about, named by its top terms",
        unit="theme label",
        computed="NMF topics on TF-IDF fit on a sample of all texts (voice_themes); the theme "
        "with the largest summed weight over the person's texts",
    ),
]

# Behavior (profiles/behavior.py). Each is empty (NULL) when its source kind is not loaded.
_NO_PURCHASES = "empty without an orders or pos_receipts source, and for persons without one"
FEATURES += [
    Feature(
        "interpurchase_days_mean",
        "Days between purchases",
        "days",
        "behavioral",
        high="Leaves long gaps between purchases",
        low="Comes back quickly",
        meaning="Average number of days between one purchase day and the next",
        unit="days",
        computed="mean gap between consecutive distinct purchase days (orders and store "
        f"receipts); empty with a single purchase day; {_NO_PURCHASES}",
    ),
    Feature(
        "interpurchase_days_median",
        "Typical days between purchases",
        "days",
        "behavioral",
        meaning="Median number of days between one purchase day and the next",
        unit="days",
        computed=f"median of the same gaps; {_NO_PURCHASES}",
    ),
    Feature(
        "weekday_favourite",
        "Favourite shopping day",
        "category",
        "behavioral",
        meaning="The weekday of most of the person's purchases (Monday ... Sunday)",
        unit="weekday",
        computed="most frequent weekday of the purchases in locale.timezone (as stored when "
        "unset), ties to the weekday bought on last; the weekday is the days since Monday "
        f"1900-01-01 modulo 7; {_NO_PURCHASES}",
    ),
    Feature(
        "weekend_share",
        "Purchases at the weekend",
        "percent",
        "behavioral",
        high="Shops at the weekend",
        low="Shops on weekdays",
        meaning="Share of the person's purchases made on a Saturday or Sunday",
        unit="share 0..1",
        computed=f"purchases on Saturday or Sunday over all purchases; {_NO_PURCHASES}",
    ),
    Feature(
        "daypart_favourite",
        "Favourite time of day",
        "category",
        "behavioral",
        meaning="When the person usually buys: morning (5-12 h), afternoon (12-17 h), "
        "evening (17-22 h) or night (22-5 h)",
        unit="part of the day",
        computed="most frequent part of the day of the purchases in locale.timezone, ties to "
        "the one bought in last; only sources whose timestamps carry a time of day (empty "
        f"for date-only exports); {_NO_PURCHASES}",
    ),
    Feature(
        "web_sessions",
        "Web and app sessions",
        "count",
        "engagement",
        log=True,
        high="Visits the website or app often",
        low="Rarely visits online",
        meaning="Visits to the website or app",
        unit="sessions",
        computed="the person's linked events ordered by time; a new session starts after 30 "
        "minutes without an event; empty without an events source",
    ),
    Feature(
        "product_views",
        "Product pages viewed",
        "count",
        "engagement",
        log=True,
        high="Browses many products",
        low="Views few products",
        meaning="Products the person looked at online",
        unit="views",
        computed="track events named 'Product Viewed' (Segment's e-commerce spec); empty "
        "without an events source",
    ),
    Feature(
        "main_device",
        "Main device",
        "category",
        "engagement",
        meaning="The device the person mostly uses online (desktop, mobile, ios, android, ...)",
        unit="device type",
        computed="most frequent context.device.type of the person's events (lower case), "
        "ties to the one seen last; empty without an events source or device data",
    ),
    Feature(
        "email_unsubscribed",
        "Unsubscribed from e-mail",
        "percent",
        "engagement",
        high="Has unsubscribed from our e-mails",
        low="Stays subscribed to our e-mails",
        meaning="Whether the person has unsubscribed from marketing e-mail",
        unit="yes/no",
        computed="any 'unsubscribed' e-mail event; empty for persons without e-mail events "
        "and without an email_events source",
    ),
    Feature(
        "tickets_12m",
        "Support contacts (12 months)",
        "count",
        "engagement",
        high="Contacted support recently",
        low="Has not needed support lately",
        meaning="Support tickets the person opened in the year before the reference date",
        unit="tickets",
        computed="support_tickets with created_ts in the 365 days before as_of; empty without "
        "a support_tickets source",
    ),
    Feature(
        "engagement_touches",
        "Recent touches",
        "count",
        "engagement",
        meaning="Purchases, web or app sessions and e-mail campaigns clicked in the last "
        "profiles.engagement.window_days (default 90) days",
        unit="touches",
        computed="purchases + sessions started + distinct campaigns clicked in the window, "
        "from the sources loaded; empty when none of orders, pos_receipts, events and "
        "email_events is",
    ),
    Feature(
        "engagement_level",
        "Engagement level",
        "category",
        "engagement",
        meaning="How engaged the person is lately: none, low, medium or high",
        unit="level",
        computed="engagement_touches: 0 none, 1 or more low, profiles.engagement.medium "
        "(default 2) medium, profiles.engagement.high (default 5) high",
    ),
    Feature(
        "lifecycle_stage",
        "Lifecycle stage",
        "category",
        "behavioral",
        meaning="Where the customer is in their life with us: new, active, reactivated, at "
        "risk or lapsed (rules in docs/profiles.md)",
        unit="stage",
        computed="in this order: last purchase more than profiles.lifecycle.lapsed_days "
        "(365) ago lapsed; more than at_risk_days (180) at risk; first purchase at most "
        "new_days (90) ago new; more than lapsed_days between the last two purchase days "
        f"reactivated; else active; {_NO_PURCHASES}",
    ),
]

# Lifetime value and churn (profiles/value.py, profiles/churn.py): empty for persons
# without a purchase, and for all when too few customers bought twice to fit the models.
FEATURES += [
    Feature(
        "p_alive",
        "Probability still a customer",
        "percent",
        "value",
        high="Is very likely still a customer",
        low="Has probably stopped buying",
        meaning="The probability that the customer has not silently stopped buying, given "
        "how often and how recently they bought",
        unit="probability 0..1",
        computed="BG/NBD (or Pareto/NBD: profiles.purchase_model) fitted by maximum "
        "likelihood on every customer's repeat purchase days (x), time of the last (t_x) "
        "and time since the first (T) in weeks, from orders and store receipts",
    ),
    Feature(
        "churn_risk",
        "Churn risk",
        "percent",
        "value",
        high="Is at risk of leaving",
        low="Is unlikely to leave",
        meaning="How likely the customer is to have left, or to leave",
        unit="probability 0..1",
        computed="1 - p_alive; with profiles.churn.label declared, the probability of that "
        "label from a model of the other declared attributes, scales, age and gender "
        "(spline logistic regression and boosted trees averaged, profiles/churn.py): "
        "out-of-fold for every labelled person, its CV ROC AUC in profile_models",
    ),
    Feature(
        "expected_purchases",
        "Expected purchases (next horizon)",
        "number",
        "value",
        high="Will buy often in the coming year",
        low="Will buy little in the coming year",
        meaning="Purchases (distinct purchase days) the customer is expected to make over "
        "the next profiles.clv_horizon_days (default 365) days",
        unit="purchases",
        computed="the purchase model's conditional expectation given each history",
    ),
    Feature(
        "clv",
        "Customer lifetime value",
        "currency",
        "value",
        high="Is worth a lot in future revenue",
        low="Is worth little in future revenue",
        meaning="Revenue the customer is expected to bring over the next "
        "profiles.clv_horizon_days days, discounted to today",
        unit="money (locale.currency)",
        computed="expected purchases per month, each month discounted at "
        "profiles.discount_rate a year, times Gamma-Gamma's expected spend per purchase "
        "(the customer's mean repeat spend shrunk towards the population's)",
    ),
]

FEATURES.append(
    Feature(
        "cross_sell_propensity",
        "Chance of trying a new category",
        "percent",
        "value",
        high="Is likely to try a new category",
        low="Sticks to what they know",
        meaning="The probability that the customer buys into a product category new to them "
        "within profiles.cross_sell_window_days (default 180)",
        unit="probability 0..1",
        computed="logistic regression of 'first purchase in some category in the last window' "
        "on item lines, spend, categories, purchase days, recency and tenure before it "
        "(profiles/propensity.py; CV ROC AUC in profile_models), applied to today's; empty "
        "without products with categories, or with fewer than 20 such customers",
    )
)

FEATURES += [
    Feature(
        "margin",
        "Gross margin to date",
        "currency",
        "value",
        high="Brings a high margin",
        low="Brings little margin",
        meaning="Revenue less the cost of the goods, over the items the person kept whose "
        "product has a unit cost",
        unit="money (locale.currency)",
        computed="item amount less quantity x products.unit_cost, returned items left out; "
        "empty where no bought product has a cost",
    ),
    Feature(
        "margin_rate",
        "Margin rate",
        "percent",
        "value",
        high="Buys high-margin products",
        low="Buys low-margin products",
        meaning="Gross margin as a share of the revenue it was earned on",
        unit="share 0..1",
        computed="margin / the amount of the same items",
    ),
    Feature(
        "interests",
        "Interests",
        "category",
        "psychographic",
        meaning="Up to three product categories that hold at least 15% of what the person "
        "buys and browses, strongest first",
        unit="categories",
        computed="purchased items (3 each) plus product views, searches and page visits with "
        "a category (1 each) per category, from order lines, store receipts and events "
        "(profiles/interests.py); empty with fewer than 3 such signals",
    ),
    Feature(
        "interest_unbought",
        "Browses but never bought",
        "category",
        "psychographic",
        meaning="The category the person looks at most online and has never bought",
        unit="category",
        computed="events with a category (or a product's) and no purchase in it, at least "
        "2 of them (profiles/interests.py)",
    ),
]

FEATURES.append(
    Feature(
        "upsell_propensity",
        "Chance of trading up",
        "percent",
        "value",
        high="Is likely to trade up to pricier products",
        low="Is unlikely to trade up",
        meaning="The probability that the customer buys a product of a higher price tier "
        "than ever before within profiles.cross_sell_window_days (default 180); empty for "
        "customers who already buy the top tier",
        unit="probability 0..1",
        computed="tiers are thirds of each category's list prices (products.price); "
        "logistic regression of 'bought a higher tier in the last window' on item lines, "
        "spend, categories, purchase days, recency, tenure and tiers bought before it "
        "(profiles/propensity.py; CV ROC AUC in profile_models), applied to today's",
    )
)

FEATURE_BY_NAME = {f.name: f for f in FEATURES}
CATEGORY_PREFIX = "cat_"
ATTRIBUTE_PREFIX = "attr_"
SCALE_PREFIX = "scale_"
INFERRED_PREFIX = "inferred_"  # a survey scale inferred from behaviour (profiles/traits.py)
APPENDED_PREFIX = "ref_"  # a value appended from a reference table (profiles/append.py)


def describe(name: str) -> Feature:
    """The built-in catalogue entry for a column, including the dynamic category columns.

    Columns a workspace's config declares are described by ``Catalogue.describe``.
    """
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
    return Feature(name, name.replace("_", " ").capitalize(), "number", "behavioral")


def lower_first(text: str) -> str:
    """'Monthly charges' -> 'monthly charges', but 'ISP' stays 'ISP'."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _label(name: str, label: str | None) -> str:
    return label or name.replace("_", " ").strip().capitalize()


@dataclass(frozen=True)
class CustomAttribute:
    """A person attribute a source declares under ``attributes:``."""

    name: str  # as declared (the column of raw_<source>)
    column: str  # the profile column
    role: Literal["numeric", "categorical", "boolean", "date", "text"]
    label: str
    segment: bool
    money: bool  # a numeric attribute declared with a currency
    sources: tuple[str, ...]

    @property
    def feature(self) -> Feature:
        formats: dict[str, Format] = {
            "numeric": "currency" if self.money else "number",
            "boolean": "percent",
            "date": "date",
        }
        fmt = formats.get(self.role, "category")
        numeric = self.role in ("numeric", "boolean")
        flag = self.role == "boolean"
        return Feature(
            self.column,
            self.label,
            fmt,
            "custom",
            model=self.segment and numeric,
            high=f"{self.label} {'more often than' if flag else 'above'} average"
            if numeric
            else "",
            low=f"{self.label} {'less often than' if flag else 'below'} average" if numeric else "",
        )


@dataclass(frozen=True)
class AppendedAttribute:
    """A value a reference source appends to profiles by postcode, city or e-mail domain."""

    name: str
    column: str  # ref_<name>
    role: Literal["numeric", "categorical", "boolean", "date", "text"]
    label: str
    segment: bool
    source: str
    on: str
    match: str
    provenance: str

    @property
    def feature(self) -> Feature:
        numeric = self.role in ("numeric", "boolean")
        where = {"postcode": "the postcode", "city": "the city", "email_domain": "e-mail domain"}
        return Feature(
            self.column,
            f"{self.label} ({self.provenance}, by {where.get(self.on, self.on)})",
            "number" if self.role == "numeric" else "percent" if numeric else "category",
            "custom",
            model=self.segment and numeric,
            high=f"Lives or works where {lower_first(self.label)} is above average"
            if numeric
            else "",
            low=f"Lives or works where {lower_first(self.label)} is below average"
            if numeric
            else "",
            meaning=f"{self.label} of the person's {where.get(self.on, self.on)}, from "
            f"{self.provenance}: appended reference data, not something the customer said",
            computed=f"reference source '{self.source}' joined on {self.on} "
            f"({'longest matching prefix' if self.match == 'prefix' else 'exact match'}; "
            "profiles/append.py)",
            appended_from=self.provenance,
        )


@dataclass(frozen=True)
class SurveyScale:
    """A survey question answered on a scale, declared under ``scales:``."""

    name: str
    column: str
    label: str
    low: float
    high: float
    sources: tuple[str, ...]

    @property
    def range_text(self) -> str:
        return f"{self.low:g}-{self.high:g}"

    @property
    def feature(self) -> Feature:
        item = lower_first(self.label)
        return Feature(
            self.column,
            f"Survey: {self.label} ({self.range_text})",
            "number",
            "psychographic",
            high=f"Rates '{item}' high in surveys",
            low=f"Rates '{item}' low in surveys",
        )

    @property
    def inferred_feature(self) -> Feature:
        item = lower_first(self.label)
        return Feature(
            f"{INFERRED_PREFIX}{self.name}",
            f"Inferred: {self.label} ({self.range_text})",
            "number",
            "psychographic",
            high=f"Would likely rate '{item}' high (inferred from behaviour)",
            low=f"Would likely rate '{item}' low (inferred from behaviour)",
            meaning=f"The answer to '{self.label}' ({self.range_text}) that the person's "
            "behaviour predicts, for everyone; for those who answered, the prediction made "
            "without their own answer",
            unit=f"scale {self.range_text}",
            computed="ridge regression + boosted trees trained on the persons who answered, "
            "on their other profile attributes (profiles/traits.py); kept only if its "
            "cross-validated R² (in profile_models) reaches profiles.traits.min_r2",
        )


@dataclass(frozen=True)
class OpenAnswer:
    """An open-answer text column declared under ``answers:``."""

    source: str
    name: str
    label: str | None


class Catalogue:
    """The built-in catalogue plus what one workspace's config declares.

    A name declared by several sources is one attribute (its values are combined
    per person); its label comes from the first source that gives one.
    """

    def __init__(self, config: Config) -> None:
        from personify.config import attribute_role_clashes
        from personify.errors import ConfigError

        attributes: dict[str, CustomAttribute] = {}
        scales: dict[str, SurveyScale] = {}
        self.answers: list[OpenAnswer] = []
        # parse_config reports these already; a Config built in code may still hold them.
        problems = attribute_role_clashes(config.sources)
        if problems:
            raise ConfigError("personify.yaml", problems)
        appended: dict[str, AppendedAttribute] = {}
        for source, spec in config.sources.items():
            if spec.kind == "reference" and spec.append is not None:
                for name, attr in spec.attributes.items():
                    column = f"{APPENDED_PREFIX}{name}"
                    appended[column] = AppendedAttribute(
                        name,
                        column,
                        attr.role,
                        _label(name, attr.label),
                        attr.segment,
                        source,
                        spec.append.on,
                        spec.append.match,
                        spec.append.provenance or source,
                    )
                continue
            for name, attr in spec.attributes.items():
                column = f"{ATTRIBUTE_PREFIX}{name}"
                seen = attributes.get(column)
                attributes[column] = CustomAttribute(
                    name,
                    column,
                    attr.role,
                    seen.label if seen and seen.label else _label(name, attr.label),
                    attr.segment if seen is None else seen.segment and attr.segment,
                    (attr.currency is not None) or bool(seen and seen.money),
                    (*seen.sources, source) if seen else (source,),
                )
            for name, scale in spec.scales.items():
                column = f"{SCALE_PREFIX}{name}"
                seen_scale = scales.get(column)
                scales[column] = SurveyScale(
                    name,
                    column,
                    seen_scale.label if seen_scale else _label(name, scale.label),
                    *(scale.range if seen_scale is None else (seen_scale.low, seen_scale.high)),
                    (*seen_scale.sources, source) if seen_scale else (source,),
                )
            self.answers += [OpenAnswer(source, n, a.label) for n, a in spec.answers.items()]
        self.attributes = attributes
        self.scales = scales
        self.appended = appended

    def describe(self, name: str) -> Feature:
        if name in self.attributes:
            return self.attributes[name].feature
        if name in self.appended:
            return self.appended[name].feature
        if name in self.scales:
            return self.scales[name].feature
        if name.startswith(INFERRED_PREFIX):
            scale = self.scales.get(SCALE_PREFIX + name[len(INFERRED_PREFIX) :])
            if scale:
                return scale.inferred_feature
        return describe(name)
