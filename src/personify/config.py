"""The typed model of ``personify.yaml``.

Every problem in a config file is found in one pass and reported together,
each with its key path (``sources.orders.columns.total.type: ...``), so a user
fixes the file once instead of once per error.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import pytimeparse
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from personify.errors import ConfigError

CONFIG_FILE = "personify.yaml"

ColumnType = Literal["string", "integer", "number", "boolean", "date", "timestamp"]
COLUMN_TYPES: tuple[str, ...] = ColumnType.__args__  # type: ignore[attr-defined]

SourceKind = Literal[
    "customers",
    "customer_attributes",
    "loyalty_members",
    "products",
    "orders",
    "order_lines",
    "pos_receipts",
    "events",
    "email_campaigns",
    "email_events",
    "marketing_spend",
    "first_touch",
    "support_tickets",
    "reviews",
    "survey_responses",
    "reference",
]
SOURCE_KINDS: tuple[str, ...] = SourceKind.__args__  # type: ignore[attr-defined]

# Person keys the kinds know. A column may also name a key space of its own
# (``key: member_no``): columns of different sources with one key space link.
IdentifierType = Literal[
    "email", "phone", "loyalty_card", "account_id", "customer_id", "anonymous_id"
]
KEY_NAME = r"^[a-z][a-z0-9_]{0,39}$"

Scalar = str | int | float | bool | None


class _Model(BaseModel):
    # Unknown keys are typos far more often than intent: reject them.
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(_Model):
    """How one column is read from a source.

    Only what differs from the kind needs saying: a column mapped with only
    ``source:`` keeps the kind's type and required flag.
    """

    type: ColumnType | None = Field(default=None, description="Default: the kind's type")
    source: str | None = Field(
        default=None, description="The file's column name (or dotted JSON path) when it differs"
    )
    expr: str | None = Field(
        default=None,
        description="A derived value: an expression over the row's columns (see docs/sources.md)",
    )
    required: bool | None = Field(default=None, description="Default: the kind's flag")
    format: str | list[str] | None = Field(
        default=None, description="strptime format(s) of a date or timestamp: '%d/%m/%Y'"
    )
    timezone: str | None = Field(
        default=None, description="IANA zone of naive timestamps; they are stored in UTC"
    )
    decimal: Literal[".", ","] | None = Field(
        default=None, description="Decimal separator of a number written as text ('1.234,56')"
    )
    values: dict[str, Scalar] | None = Field(
        default=None, description="Value map applied to the raw text: {M: male, F: female}"
    )
    currency: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{3}$",
        description="ISO 4217 code of a money column; converted to the workspace currency",
    )
    min: float | str | None = Field(default=None, description="Smallest valid value")
    max: float | str | None = Field(default=None, description="Largest valid value")
    allowed: list[Scalar] | None = Field(
        default=None, description="The only valid values (after the value map)"
    )
    key: str | None = Field(
        default=None,
        pattern=KEY_NAME,
        description="The person key space this column holds (e.g. customer_id)",
    )

    @field_validator("values", mode="before")
    @classmethod
    def _keys_as_text(cls, v: Any) -> Any:
        # YAML reads `1: male` or `true: yes` with non-text keys; the map compares raw text.
        if isinstance(v, dict):
            return {
                (("true" if k else "false") if isinstance(k, bool) else str(k)): val
                for k, val in v.items()
            }
        return v

    @model_validator(mode="after")
    def _one_origin(self) -> ColumnSpec:
        if self.source is not None and self.expr is not None:
            raise ValueError("give either 'source' or 'expr', not both")
        return self


AttributeRole = Literal["numeric", "categorical", "boolean", "date", "text"]
ROLE_TYPES: dict[str, ColumnType] = {
    "numeric": "number",
    "categorical": "string",
    "boolean": "boolean",
    "date": "date",
    "text": "string",
}


class AttributeSpec(ColumnSpec):
    """A custom person attribute: flows into profiles, segments and persona cards."""

    role: AttributeRole
    label: str | None = Field(default=None, description="As shown on cards; default from name")
    segment: bool = Field(default=True, description="May be used by segmentation")

    @property
    def column_type(self) -> ColumnType:
        return self.type or ROLE_TYPES[self.role]


class ScaleSpec(ColumnSpec):
    """A survey question answered on a numeric scale (1 to 5, 0 to 10, ...)."""

    label: str | None = None
    range: tuple[float, float] = (1, 5)

    @model_validator(mode="after")
    def _range_ordered(self) -> ScaleSpec:
        if self.range[0] >= self.range[1]:
            raise ValueError(f"range must be [low, high] with low < high, got {list(self.range)}")
        return self


class AnswerSpec(ColumnSpec):
    """An open-answer text column of a survey (quotes and themes, scrubbed for display)."""

    label: str | None = None


class CsvOptions(_Model):
    """How a CSV file is written; anything left out is detected."""

    delimiter: Literal["whitespace"] | Annotated[str, Field(min_length=1, max_length=1)] | None = (
        Field(default=None, description="One character, or 'whitespace' for space-padded columns")
    )
    quote: str | None = Field(default=None, max_length=1)
    escape: str | None = Field(default=None, max_length=1)
    encoding: str | None = Field(
        default=None, description="utf-8 (default; a BOM is skipped), latin-1, cp1252, ..."
    )
    header: bool = True
    skip_rows: Annotated[int, Field(ge=0)] = 0


class DatabaseSpec(_Model):
    """A table or a query of a database server (PostgreSQL), read in streamed batches."""

    url: str = Field(description="postgresql://user@host:port/db; ${ENV_VAR} is expanded")
    table: str | None = None
    query: str | None = None
    updated_at: str | None = Field(
        default=None, description="Column for incremental loads: only rows changed since the last"
    )
    # PostgreSQL's now() is the start of the writing transaction, so a row can commit
    # with an updated_at older than rows a load has already read. 15 minutes covers
    # ordinary application transactions and some clock difference between application
    # servers; re-reading that window costs little, as unchanged rows are known by hash.
    lookback: dt.timedelta = Field(
        default=dt.timedelta(minutes=15),
        description="Re-read rows this much older than the last load's newest updated_at "
        "('5 minutes', '2 hours', or seconds), to catch rows committed late",
    )
    batch_rows: Annotated[int, Field(ge=100)] = 50_000

    @field_validator("lookback", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> Any:
        if isinstance(v, bool):  # YAML's `lookback: true` is no duration
            raise ValueError("expected a duration such as '5 minutes', got a boolean")
        if isinstance(v, str):
            text = v.strip()
            if re.fullmatch(r"\d+(\.\d+)?", text):
                return float(text)  # a bare number is seconds, as an unquoted YAML one is
            seconds = pytimeparse.parse(text)
            if seconds is None:
                raise ValueError(
                    f"expected a duration such as '5 minutes', '2 hours' or '90s', got {v!r}"
                )
            return seconds
        return v

    @field_validator("lookback")
    @classmethod
    def _not_negative(cls, v: dt.timedelta) -> dt.timedelta:
        if v < dt.timedelta(0):
            raise ValueError("lookback must not be negative")
        return v

    @model_validator(mode="after")
    def _table_or_query(self) -> DatabaseSpec:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of 'table' or 'query'")
        return self


class AppendSpec(_Model):
    """A reference table (third-party data) joined onto profiles: area demographics by
    postcode, firmographics by e-mail domain. Its ``attributes:`` become ``ref_<name>``
    profile columns, marked as appended, never shown as what a customer said."""

    on: Literal["postcode", "city", "email_domain"] = Field(
        description="The person's value the table's key matches: postcode, city or e-mail domain"
    )
    match: Literal["exact", "prefix"] = Field(
        default="exact",
        description="prefix: the longest key that starts the person's value (postcode "
        "districts such as 'SW1A' or '101')",
    )
    provenance: str | None = Field(
        default=None, description="Where the data comes from, as shown beside its values"
    )


FileFormat = Literal["csv", "parquet", "json", "jsonl", "xlsx"]
SUFFIX_FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xlsx": "xlsx",
}


class SourceSpec(_Model):
    """One input of a known kind: a file (or a glob of files) or a database table/query."""

    kind: SourceKind
    path: str | None = Field(default=None, description="A file, or a glob such as 'exports/*.csv'")
    database: DatabaseSpec | None = None
    format: FileFormat | None = None
    csv: CsvOptions = Field(default_factory=CsvOptions)
    sheet: str | None = Field(default=None, description="xlsx: the sheet (default: the first)")
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)
    attributes: dict[str, AttributeSpec] = Field(default_factory=dict)
    scales: dict[str, ScaleSpec] = Field(default_factory=dict)
    answers: dict[str, AnswerSpec] = Field(default_factory=dict)
    record_key: list[str] | None = Field(
        default=None, description="Columns that identify a record (default: the kind's id)"
    )
    max_bad_fraction: Annotated[float, Field(ge=0.0, le=1.0)] = 0.05
    append: AppendSpec | None = Field(
        default=None, description="kind reference: which person value its key matches"
    )

    @model_validator(mode="after")
    def _reference_appends(self) -> SourceSpec:
        if self.kind == "reference":
            if self.append is None:
                raise ValueError("a reference source needs 'append: {on: postcode|city|...}'")
            if not self.attributes:
                raise ValueError("a reference source needs 'attributes:' (the values it adds)")
            if self.scales or self.answers:
                raise ValueError("a reference source has attributes only, no scales or answers")
        elif self.append is not None:
            raise ValueError("'append' is for sources of kind reference")
        return self

    @model_validator(mode="after")
    def _one_location(self) -> SourceSpec:
        if (self.path is None) == (self.database is None):
            raise ValueError("give exactly one of 'path' (files) or 'database'")
        names = [*self.columns, *self.attributes, *self.scales, *self.answers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"column names declared twice (columns/attributes/scales): {dupes}")
        bad = [n for n in names if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", n)]
        if bad:
            raise ValueError(f"column names must be letters, digits and '_', got {bad}")
        return self

    @property
    def file_format(self) -> str:
        if self.format:
            return self.format
        if self.database is not None:
            return "database"
        return SUFFIX_FORMATS.get(Path(self.path or "").suffix.lower(), "csv")


class LocaleConfig(_Model):
    """Where the company is: phone numbers, money and names on cards follow it."""

    country: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{2}$",
        description="ISO 3166 code: the region of phone numbers written without +country code",
    )
    currency: str | None = Field(
        default=None, pattern=r"^[A-Z]{3}$", description="ISO 4217 code money is reported in"
    )
    language: str = Field(default="en", pattern=r"^[a-z]{2}(_[A-Z]{2})?$")
    timezone: str | None = Field(
        default=None,
        description="IANA zone (Europe/Berlin) in which weekday and time-of-day habits are "
        "read; default: as stored (UTC where the source gave an offset or a timezone)",
    )
    exchange_rates: dict[
        Annotated[str, Field(pattern=r"^[A-Z]{3}$")], Annotated[float, Field(gt=0)]
    ] = Field(
        default_factory=dict,
        description="Units of the workspace currency per unit of another: {USD: 0.92}",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name such as Europe/Berlin)"
            ) from None
        return value


# Fields a probabilistic comparison can use: the description of a person the identity
# stage builds from every person-level source (docs/identity.md).
MatchField = Literal[
    "first_name",
    "last_name",
    "birth_date",
    "phone",
    "postcode",
    "city",
    "email_local",
    "email_domain",
    "email_name",
]
MATCH_FIELDS: tuple[str, ...] = MatchField.__args__  # type: ignore[attr-defined]

# Blocking rules: each a list of fields that must be equal (a name may take its first
# letters as ``first_name:3``). Candidate pairs are those that agree on any rule.
DEFAULT_BLOCKING: list[list[str]] = [
    ["first_name", "last_name"],
    ["last_name", "birth_date"],
    ["first_name", "birth_date"],
    ["phone"],
    ["email_local"],
    ["postcode"],
    ["birth_date", "last_name:2"],
    ["email_domain", "first_name:3", "last_name:3"],
    ["email_domain", "email_local:8"],
    ["city", "last_name", "first_name:1"],
    ["city", "birth_date"],
]
BLOCKING_FIELD = re.compile(
    r"^(first_name|last_name|birth_date|phone|postcode|city|email_local|email_domain)(:[1-9])?$"
)


class ProbabilisticConfig(_Model):
    """Fellegi-Sunter linkage (Splink) of persons the exact keys left apart."""

    enabled: bool = True
    # A model link needs at least this match probability. 0.99 is a posterior odds of
    # 99:1, a statement about the evidence, not a value fitted to one data set.
    threshold: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.99
    blocking: list[list[str]] = Field(default_factory=lambda: [list(r) for r in DEFAULT_BLOCKING])
    comparisons: list[MatchField] = Field(default_factory=lambda: list(MATCH_FIELDS))  # type: ignore[arg-type]
    # Two different first names never merge on model evidence alone (twins at one address).
    first_name_veto: bool = True
    # A model link needs agreement on the birth date, phone or whole postcode, not only
    # on names and e-mails (which are often built from the names).
    corroborate: bool = True
    # u from this many random pairs; EM on at most this many blocked pairs.
    # Below this many descriptions there is too little to fit a model: exact keys decide.
    min_descriptions: Annotated[int, Field(ge=2)] = 200
    u_pairs: Annotated[int, Field(ge=10_000)] = 1_000_000
    em_pairs: Annotated[int, Field(ge=10_000)] = 2_000_000
    seed: int = 42

    @field_validator("blocking")
    @classmethod
    def _blocking_fields(cls, rules: list[list[str]]) -> list[list[str]]:
        for rule in rules:
            if not rule:
                raise ValueError("a blocking rule lists at least one field")
            for f in rule:
                if not BLOCKING_FIELD.match(f):
                    raise ValueError(
                        f"unknown blocking field {f!r}: use one of {', '.join(MATCH_FIELDS)}, "
                        "optionally with ':N' for its first N characters"
                    )
        return rules


class IdentityConfig(_Model):
    """Exact keys first: records sharing a normalised key belong to one person; then
    probabilistic linkage of persons the keys left apart."""

    keys: list[Annotated[str, Field(pattern=KEY_NAME)]] | None = Field(
        default=None,
        description="Key spaces that link records (default: every key space in the sources)",
    )
    max_cluster_size: Annotated[int, Field(ge=2)] = 50
    # key space -> other key space -> most values of the other a key may be seen with;
    # past it the key links nothing (elsewhere max_cluster_size applies). A device
    # (anonymous id) used with two accounts is a shared device, not one person.
    key_limits: dict[
        Annotated[str, Field(pattern=KEY_NAME)],
        dict[Annotated[str, Field(pattern=KEY_NAME)], Annotated[int, Field(ge=1)]],
    ] = Field(default_factory=lambda: {"anonymous_id": {"account_id": 1}})
    # A key whose records describe more than this many people links nothing (a
    # household's or a placeholder e-mail): first names that differ in the initial and
    # by more than two edits, without one birth date shared.
    conflict_limit: Annotated[int, Field(ge=1)] = 1
    probabilistic: ProbabilisticConfig = Field(default_factory=ProbabilisticConfig)


SegmentMethod = Literal["kmeans", "gmm", "kprototypes", "hdbscan"]
SEGMENT_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class StrategyConfig(_Model):
    """How much each value criterion counts when segments are ranked (docs/segments.md)."""

    clv: Annotated[float, Field(ge=0.0, le=10.0)] = Field(
        default=1.0, description="Future value: average CLV (revenue to date without a CLV)"
    )
    profitability: Annotated[float, Field(ge=0.0, le=10.0)] = Field(
        default=1.0, description="Margin after returns less acquisition cost, per customer"
    )
    growth: Annotated[float, Field(ge=0.0, le=10.0)] = Field(
        default=0.5, description="Share of new customers (joined in lifecycle.new_days)"
    )
    retention: Annotated[float, Field(ge=0.0, le=10.0)] = Field(
        default=0.5, description="1 - average churn risk"
    )


class SegmentsConfig(_Model):
    """Which persons are segmented, on what, by which method, and how segments are ranked."""

    method: SegmentMethod = Field(
        default="kmeans",
        description="kmeans, gmm (Gaussian mixture), kprototypes (numeric and categorical), "
        "hdbscan (density; may leave outliers unassigned)",
    )
    k: Literal["auto"] | Annotated[int, Field(ge=2, le=12)] = "auto"
    k_range: tuple[Annotated[int, Field(ge=2)], Annotated[int, Field(le=12)]] = (3, 8)
    sample_size: Annotated[int, Field(ge=500)] = 50_000
    min_orders: Literal["auto"] | Annotated[int, Field(ge=0)] = Field(
        default="auto",
        description="Segment only persons with at least this many purchases (0: everyone the "
        "profiles describe; auto: 1 when anyone bought, else 0)",
    )
    gross_margin: Annotated[float, Field(gt=0.0, le=1.0)] = 0.35
    seed: int = 42
    bootstrap: Annotated[int, Field(ge=0, le=50)] = Field(
        default=6, description="Bootstrap resamples per k for the stability ARI (0: none)"
    )
    min_stability: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        default=0.85, description="A k whose stability ARI is below this is not chosen"
    )
    features: list[Annotated[str, Field(pattern=SEGMENT_NAME)]] | None = Field(
        default=None, description="Profile columns or groups to segment on (default: all)"
    )
    exclude: list[Annotated[str, Field(pattern=SEGMENT_NAME)]] = Field(default_factory=list)
    weights: dict[
        Annotated[str, Field(pattern=SEGMENT_NAME)], Annotated[float, Field(ge=0.0, le=10.0)]
    ] = Field(
        default_factory=dict,
        description="Weight of a group (categories, channels, ...) or of one input; 0 leaves "
        "it out; default 1 per group, shared by its inputs",
    )
    value_attribute: str | None = Field(
        default=None,
        pattern=r"^(attr_)?[A-Za-z_][A-Za-z0-9_]*$",
        description="A numeric attribute that is the revenue of a company without purchases "
        "(monthly charges)",
    )
    strategy: StrategyConfig = Field(default_factory=StrategyConfig)
    primary: tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(le=12)]] = (3, 5)

    @model_validator(mode="after")
    def _range_ordered(self) -> SegmentsConfig:
        if self.k_range[0] > self.k_range[1]:
            raise ValueError(f"k_range must be [low, high] with low <= high, got {self.k_range}")
        if self.primary[0] > self.primary[1]:
            raise ValueError(f"primary must be [low, high] with low <= high, got {self.primary}")
        return self

    @property
    def value_column(self) -> str | None:
        if self.value_attribute is None:
            return None
        return "attr_" + self.value_attribute.removeprefix("attr_")


class NarrativeConfig(_Model):
    """An optional narrative by a language model (personas/llm.py); off without a url."""

    url: str | None = Field(
        default=None,
        description="Base URL of an OpenAI-compatible API (…/v1); none: template narrative",
    )
    model: str = "local-model"
    api_key_env: str | None = Field(
        default=None, description="Environment variable holding the API key, if one is needed"
    )
    timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 60.0
    max_chars: Annotated[int, Field(ge=100, le=5000)] = 1200


class PersonasConfig(_Model):
    quotes_per_persona: Annotated[int, Field(ge=0, le=10)] = 3
    k_anonymity: Annotated[int, Field(ge=2, le=1000)] = Field(
        default=50,
        description="A value on a card drawn from fewer members than this is not shown; "
        "a segment smaller than this gets no persona",
    )
    output_dir: str = "output"
    seed: int = 7
    narrative: NarrativeConfig = Field(default_factory=NarrativeConfig)


class LifecycleConfig(_Model):
    """Day thresholds of the lifecycle stages (docs/profiles.md says how they apply)."""

    new_days: Annotated[int, Field(ge=1)] = Field(
        default=90, description="First purchase at most this many days ago: new"
    )
    at_risk_days: Annotated[int, Field(ge=1)] = Field(
        default=180, description="Last purchase more than this many days ago: at risk"
    )
    lapsed_days: Annotated[int, Field(ge=1)] = Field(
        default=365,
        description="Last purchase more than this many days ago: lapsed; a gap longer than "
        "this before a recent purchase: reactivated",
    )

    @model_validator(mode="after")
    def _ordered(self) -> LifecycleConfig:
        if not self.new_days <= self.at_risk_days < self.lapsed_days:
            raise ValueError(
                "lifecycle thresholds must satisfy new_days <= at_risk_days < lapsed_days, got "
                f"{self.new_days}, {self.at_risk_days}, {self.lapsed_days}"
            )
        return self


class EngagementConfig(_Model):
    """Touches (purchases, web sessions, e-mail clicks) in the last ``window_days`` that
    make a person's engagement level medium or high; none in the window is 'none'."""

    window_days: Annotated[int, Field(ge=1)] = 90
    medium: Annotated[int, Field(ge=2)] = 2
    high: Annotated[int, Field(ge=3)] = 5

    @model_validator(mode="after")
    def _ordered(self) -> EngagementConfig:
        if self.medium >= self.high:
            raise ValueError(f"engagement needs medium < high, got {self.medium}, {self.high}")
        return self


class ChurnConfig(_Model):
    """Supervised churn: churn_risk from a model of a declared boolean attribute."""

    label: str = Field(
        pattern=r"^(attr_)?[A-Za-z_][A-Za-z0-9_]*$",
        description="The declared boolean attribute that says who churned (name or attr_name)",
    )
    folds: Annotated[int, Field(ge=2, le=10)] = 5
    seed: int = 42

    @property
    def attribute(self) -> str:
        """The attribute's declared name (without the profile column's ``attr_``)."""
        return self.label.removeprefix("attr_")


class TraitsConfig(_Model):
    """Survey scales inferred from behaviour for persons who took no survey: a model per
    scale, trained on those who answered, kept only if its cross-validated R² reaches
    ``min_r2``."""

    enabled: bool = True
    min_answers: Annotated[int, Field(ge=20)] = Field(
        default=100, description="Fewer persons who answered a scale than this: no model"
    )
    min_r2: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        default=0.05, description="Cross-validated R² a model needs before its scores are kept"
    )
    folds: Annotated[int, Field(ge=2, le=10)] = 5
    max_train: Annotated[int, Field(ge=100)] = Field(
        default=20_000,
        description="A scale with more answers than this is fitted and cross-validated on a "
        "sample of this many; the other answerers are scored like non-answerers",
    )
    seed: int = 42


class AcquisitionConfig(_Model):
    """Which marketing spend pays for which customer (docs/profiles.md has each rule)."""

    rule: Literal["auto", "campaign", "campaign_month", "channel_month", "month"] = Field(
        default="auto",
        description="auto: the finest rule the spend and first-touch data support",
    )


class ProfilesConfig(_Model):
    """Lifetime value, lifecycle, churn and trait settings of the profile stage."""

    clv_horizon_days: Annotated[int, Field(ge=1, le=3650)] = Field(
        default=365, description="CLV and expected purchases look this many days ahead"
    )
    discount_rate: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        default=0.10, description="Annual discount rate of future revenue in the CLV"
    )
    purchase_model: Literal["bg_nbd", "pareto_nbd"] = "bg_nbd"
    churn_window_days: Annotated[int, Field(ge=7, le=1095)] = Field(
        default=180,
        description="churn_risk: the probability of no purchase in this many days ahead",
    )
    cross_sell_window_days: Annotated[int, Field(ge=7, le=730)] = Field(
        default=180,
        description="Cross-sell propensity: buying into a category new to the customer "
        "within this many days",
    )
    lifecycle: LifecycleConfig = Field(default_factory=LifecycleConfig)
    engagement: EngagementConfig = Field(default_factory=EngagementConfig)
    churn: ChurnConfig | None = None
    traits: TraitsConfig = Field(default_factory=TraitsConfig)
    acquisition: AcquisitionConfig = Field(default_factory=AcquisitionConfig)


class EngineConfig(_Model):
    """Where stages run. ``duckdb`` (embedded, the default) is bounded by memory_limit, work
    beyond it spilling to temp_directory; ``spark`` runs them on Apache Spark at ``master``
    (``pip install 'personify[spark]'``), its tables as Parquet under ``path``."""

    kind: Literal["duckdb", "spark"] = "duckdb"
    memory_limit: str = Field(
        default="4GB", pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB|%)$"
    )
    temp_directory: str = ".personify-tmp"
    master: str = Field(default="local[*]", min_length=1)
    path: str = Field(default="spark-tables", min_length=1)


class Config(_Model):
    version: Literal[1] = 1
    database: str = "personify.duckdb"
    engine: EngineConfig = Field(default_factory=EngineConfig)
    locale: LocaleConfig = Field(default_factory=LocaleConfig)
    as_of: dt.date | None = Field(
        default=None, description="Reference date for recency and churn; default: latest data"
    )
    sources: dict[str, SourceSpec] = Field(default_factory=dict)
    identity: IdentityConfig = Field(default_factory=IdentityConfig)
    segments: SegmentsConfig = Field(default_factory=SegmentsConfig)
    personas: PersonasConfig = Field(default_factory=PersonasConfig)
    profiles: ProfilesConfig = Field(default_factory=ProfilesConfig)

    @model_validator(mode="after")
    def _source_names_are_identifiers(self) -> Config:
        bad = [n for n in self.sources if not n.replace("_", "").isalnum() or n[0].isdigit()]
        if bad:
            raise ValueError(
                f"source names must be letters, digits and '_' (used in table names), got {bad}"
            )
        return self


def attribute_role_clashes(sources: dict[str, SourceSpec]) -> list[str]:
    """An attribute name is one profile column, so every source declaring it needs one role
    (and a scale one range)."""
    first: dict[str, tuple[str, str]] = {}  # attribute name -> (source, role)
    appended: dict[str, str] = {}  # a reference source's attribute -> that source
    problems = []
    for source, spec in sources.items():
        if spec.kind == "reference":  # its attributes are ref_<name> columns of their own
            for name in spec.attributes:
                if name in appended:
                    problems.append(
                        f"sources.{source}.attributes.{name}: reference source "
                        f"'{appended[name]}' appends '{name}' already (give one another name)"
                    )
                appended.setdefault(name, source)
            continue
        for name, attr in spec.attributes.items():
            seen = first.setdefault(name, (source, attr.role))
            if seen[1] != attr.role:
                problems.append(
                    f"sources.{source}.attributes.{name}.role: '{attr.role}' but source "
                    f"'{seen[0]}' declares it '{seen[1]}' (one name is one profile column: "
                    "give both the same role, or one of them another name)"
                )
    # A scale is one profile column too: its range scales every source's answers alike.
    ranges: dict[str, tuple[str, tuple[float, float]]] = {}
    for source, spec in sources.items():
        for name, scale in spec.scales.items():
            seen_range = ranges.setdefault(name, (source, scale.range))
            if seen_range[1] != scale.range:
                problems.append(
                    f"sources.{source}.scales.{name}.range: {_shown_range(scale.range)} but "
                    f"source '{seen_range[0]}' declares it {_shown_range(seen_range[1])} (one "
                    "name is one "
                    "profile column: give both the same range, or one of them another name)"
                )
    return problems


def churn_label_problems(config: Config) -> list[str]:
    """``profiles.churn.label`` must name a boolean attribute some source declares."""
    churn = config.profiles.churn
    if churn is None:
        return []
    roles = {
        name: attr.role
        for spec in config.sources.values()
        for name, attr in spec.attributes.items()
    }
    role = roles.get(churn.attribute)
    if role is None:
        declared = ", ".join(sorted(roles)) or "none"
        return [
            f"profiles.churn.label: no source declares the attribute '{churn.attribute}' "
            f"(declared attributes: {declared})"
        ]
    if role != "boolean":
        return [
            f"profiles.churn.label: attribute '{churn.attribute}' has role '{role}'; "
            "a churn label must be boolean (churned or not)"
        ]
    return []


def _shown_range(bounds: tuple[float, float]) -> str:
    return f"[{bounds[0]:g}, {bounds[1]:g}]"


def _describe(error: Any) -> str:
    loc = ".".join(str(p) for p in error["loc"])
    kind = error["type"]
    got = error.get("input")
    if kind == "literal_error" and loc.endswith(".type") and loc.startswith("sources."):
        msg = f"expected a column type ({', '.join(COLUMN_TYPES)}), got {got!r}"
    elif kind == "literal_error" and loc.endswith(".kind"):
        msg = f"expected a source kind ({', '.join(SOURCE_KINDS)}), got {got!r}"
    elif kind == "extra_forbidden":
        msg = "unknown key (check the spelling)"
    elif kind == "missing":
        msg = "required key is missing"
    elif kind == "value_error":
        msg = str(error["msg"]).removeprefix("Value error, ")
    else:
        msg = f"{error['msg']}, got {got!r}" if "input" in error else error["msg"]
    return f"{loc}: {msg}" if loc else msg


def parse_config(data: Any, *, path: str = CONFIG_FILE) -> Config:
    """Validate a parsed YAML document; raise ConfigError listing every problem."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(path, [f"expected a mapping at the top level, got {type(data).__name__}"])
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(path, [_describe(e) for e in exc.errors()]) from None
    from personify.ingest.kinds import kind_problems  # kinds build on this module

    problems = (
        kind_problems(config.sources)
        + attribute_role_clashes(config.sources)
        + churn_label_problems(config)
    )
    if problems:
        raise ConfigError(path, problems)
    return config


class _StrictLoader(yaml.SafeLoader):
    """YAML as people mean it: a repeated key is an error, and ``Yes``/``No``/``on``/``off``
    stay text (value maps such as ``{Yes: true, No: false}`` are common); only
    ``true``/``false`` are booleans, as in YAML 1.2."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"the key {key!r} appears twice (first on line {seen[key] + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def read_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_StrictLoader)


def load_config(path: Path) -> Config:
    if not path.is_file():
        raise ConfigError(str(path), ["file not found (run 'personify init' to create one)"])
    try:
        data = read_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(str(path), [f"{where}not valid YAML ({problem})"]) from None
    except UnicodeDecodeError as exc:
        problem = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        raise ConfigError(str(path), [problem]) from None
    return parse_config(data, path=str(path))
