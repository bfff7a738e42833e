"""The REST API's response models (they make its OpenAPI description)."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, Field

from personify.web.exports import EXPORTS

ExportFormat = Enum("ExportFormat", {name.upper(): name for name in EXPORTS}, type=str)  # type: ignore[misc]


class ErrorDetail(BaseModel):
    status: int
    code: str
    message: str
    details: list[Any] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    error: ErrorDetail


class Status(BaseModel):
    segment_run: str | None
    refreshed_at: str | None
    personas: int
    customers: int


class Me(BaseModel):
    name: str
    role: str


class PersonaSummary(BaseModel):
    slug: str
    name: str | None
    title: str | None
    tagline: str | None
    negative: bool
    segment_id: int | None
    customers: int | None
    share: float | None
    revenue_share: float | None
    avg_revenue: float | None
    currency: str | None
    avatar: str


class Segments(BaseModel):
    segment_run: str | None
    segments: list[dict[str, Any]]
    distributions: dict[str, list[dict[str, Any]]]


class SearchResult(BaseModel):
    personas: list[PersonaSummary]
    person_id: str | None = Field(description="the person the query identifies (analysts only)")


class Customer(BaseModel):
    person_id: str
    records: int
    sources: dict[str, int]
    golden_record: dict[str, Any]
    segment: dict[str, Any] | None
    profile: dict[str, Any]
    links: list[dict[str, Any]]
    identifiers: list[dict[str, Any]]
    model_links: list[dict[str, Any]]
    source_records: dict[str, list[dict[str, Any]]]
    texts: list[dict[str, Any]]


class UserInfo(BaseModel):
    name: str
    role: str
    created_at: str
    tokens: list[dict[str, str]]


class History(BaseModel):
    runs: list[dict[str, Any]]
    drift: dict[str, Any] | None
