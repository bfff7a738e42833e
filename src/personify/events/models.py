"""The Segment HTTP Tracking API's messages as pydantic models (the spec's common fields).

The models validate; the message stored is the JSON object as the client sent it (extra
fields included, ``writeKey`` removed) plus what the server adds: ``type``, ``messageId``
when missing, ``receivedAt``, and ``timestamp`` corrected for the client's clock
(``originalTimestamp`` keeps the client's value).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

# Segment's limits: 32 KB a call, 500 KB a batch request.
MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
# The longest id kept; a longer userId or messageId is a client bug, not an identity.
_MAX_ID = 1024

Id = Annotated[str, Field(min_length=1, max_length=_MAX_ID)]
Dict = dict[str, Any]


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    userId: Id | None = None
    anonymousId: Id | None = None
    messageId: Id | None = None
    timestamp: datetime | None = Field(
        default=None, description="When it happened, by the client's clock (ISO 8601)"
    )
    sentAt: datetime | None = Field(
        default=None, description="When the client sent it, by the same clock"
    )
    originalTimestamp: datetime | None = Field(
        default=None,
        description="When it happened, by the client's clock, where RudderStack's SDKs "
        "put it (used when timestamp is absent)",
    )
    context: Dict | None = None
    integrations: Dict | None = None
    writeKey: str | None = Field(default=None, description="The write key, if not by basic auth")

    @model_validator(mode="after")
    def _someone(self) -> _Message:
        if self.userId is None and self.anonymousId is None:
            raise ValueError("either userId or anonymousId is required")
        return self


class Identify(_Message):
    type: Literal["identify"] = "identify"
    traits: Dict | None = None


class Track(_Message):
    type: Literal["track"] = "track"
    event: Annotated[str, Field(min_length=1, max_length=_MAX_ID)]
    properties: Dict | None = None


class Page(_Message):
    type: Literal["page"] = "page"
    name: str | None = None
    category: str | None = None
    properties: Dict | None = None


class Screen(_Message):
    type: Literal["screen"] = "screen"
    name: str | None = None
    category: str | None = None
    properties: Dict | None = None


class Group(_Message):
    type: Literal["group"] = "group"
    groupId: Id
    traits: Dict | None = None


class Alias(_Message):
    type: Literal["alias"] = "alias"
    previousId: Id
    userId: Id  # required here


Message = Annotated[Identify | Track | Page | Screen | Group | Alias, Field(discriminator="type")]


class Batch(BaseModel):
    model_config = ConfigDict(extra="allow")

    batch: Annotated[list[Message], Field(min_length=1)]
    sentAt: datetime | None = None
    context: Dict | None = None
    integrations: Dict | None = None
    writeKey: str | None = None


class Success(BaseModel):
    success: Literal[True] = True


class Failure(BaseModel):
    success: Literal[False] = False
    code: str
    message: str


SINGLE: dict[str, type[_Message]] = {
    "identify": Identify,
    "track": Track,
    "page": Page,
    "screen": Screen,
    "group": Group,
    "alias": Alias,
}
ADAPTERS: dict[str, TypeAdapter[Any]] = {
    **{name: TypeAdapter(model) for name, model in SINGLE.items()},
    "batch": TypeAdapter(Batch),
}
