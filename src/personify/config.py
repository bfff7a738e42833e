"""The typed model of ``personify.yaml``.

Every problem in a config file is found in one pass and reported together,
each with its key path (``sources.orders.columns.total.type: ...``), so a user
fixes the file once instead of once per error.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from personify.errors import ConfigError

CONFIG_FILE = "personify.yaml"

ColumnType = Literal["string", "integer", "number", "boolean", "date", "timestamp"]
COLUMN_TYPES: tuple[str, ...] = ColumnType.__args__  # type: ignore[attr-defined]

SourceKind = Literal[
    "customers",
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
]
SOURCE_KINDS: tuple[str, ...] = SourceKind.__args__  # type: ignore[attr-defined]

IdentifierType = Literal[
    "email", "phone", "loyalty_card", "account_id", "customer_id", "anonymous_id"
]


class _Model(BaseModel):
    # Unknown keys are typos far more often than intent: reject them.
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(_Model):
    """How one canonical column is read from a source."""

    type: ColumnType = "string"
    source: str | None = Field(
        default=None, description="Column name in the file when it differs from the canonical name"
    )
    required: bool = False


class SourceSpec(_Model):
    """One input: a file (CSV, Parquet or JSON lines) of a known kind."""

    kind: SourceKind
    path: str
    format: Literal["csv", "parquet", "jsonl"] | None = None
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)
    max_bad_fraction: Annotated[float, Field(ge=0.0, le=1.0)] = 0.05

    @property
    def file_format(self) -> str:
        if self.format:
            return self.format
        suffix = Path(self.path).suffix.lower()
        return {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(
            suffix, "csv"
        )


class IdentityConfig(_Model):
    """Exact-key linking: records sharing a normalised key belong to one person."""

    keys: list[IdentifierType] = Field(
        default_factory=lambda: [  # type: ignore[arg-type]
            "email",
            "phone",
            "loyalty_card",
            "account_id",
            "customer_id",
            "anonymous_id",
        ]
    )
    max_cluster_size: Annotated[int, Field(ge=2)] = 50


class SegmentsConfig(_Model):
    k: Literal["auto"] | Annotated[int, Field(ge=2, le=12)] = "auto"
    k_range: tuple[Annotated[int, Field(ge=2)], Annotated[int, Field(le=12)]] = (3, 6)
    sample_size: Annotated[int, Field(ge=500)] = 50_000
    min_orders: Annotated[int, Field(ge=0)] = 1
    gross_margin: Annotated[float, Field(gt=0.0, le=1.0)] = 0.35
    seed: int = 42

    @model_validator(mode="after")
    def _range_ordered(self) -> SegmentsConfig:
        if self.k_range[0] > self.k_range[1]:
            raise ValueError(f"k_range must be [low, high] with low <= high, got {self.k_range}")
        return self


class PersonasConfig(_Model):
    quotes_per_persona: Annotated[int, Field(ge=0, le=10)] = 2
    output_dir: str = "output"
    seed: int = 7


class EngineConfig(_Model):
    """Bounds for the embedded engine; work beyond memory_limit spills to temp_directory."""

    memory_limit: str = Field(
        default="4GB", pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB|%)$"
    )
    temp_directory: str = ".personify-tmp"


class Config(_Model):
    version: Literal[1] = 1
    database: str = "personify.duckdb"
    engine: EngineConfig = Field(default_factory=EngineConfig)
    as_of: dt.date | None = Field(
        default=None, description="Reference date for recency and churn; default: latest data"
    )
    sources: dict[str, SourceSpec] = Field(default_factory=dict)
    identity: IdentityConfig = Field(default_factory=IdentityConfig)
    segments: SegmentsConfig = Field(default_factory=SegmentsConfig)
    personas: PersonasConfig = Field(default_factory=PersonasConfig)

    @model_validator(mode="after")
    def _source_names_are_identifiers(self) -> Config:
        bad = [n for n in self.sources if not n.replace("_", "").isalnum() or n[0].isdigit()]
        if bad:
            raise ValueError(
                f"source names must be letters, digits and '_' (used in table names), got {bad}"
            )
        return self


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
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(path, [_describe(e) for e in exc.errors()]) from None


def load_config(path: Path) -> Config:
    if not path.is_file():
        raise ConfigError(str(path), ["file not found (run 'personify init' to create one)"])
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(str(path), [f"{where}not valid YAML ({exc})"]) from None
    return parse_config(data, path=str(path))
