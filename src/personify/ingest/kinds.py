"""What each kind of source means to the pipeline.

A kind fixes canonical column names and types, which column identifies a
record, and which columns carry identifiers of a person (for the identity
stage). A source's config only overrides what differs in its file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from personify.config import ColumnSpec, SourceSpec

_S = ColumnSpec(type="string")


def _cols(required: tuple[str, ...] = (), **types: str) -> dict[str, ColumnSpec]:
    return {
        name: ColumnSpec(type=t, required=name in required)  # type: ignore[arg-type]
        for name, t in types.items()
    }


@dataclass(frozen=True)
class SourceKindSpec:
    name: str
    record_id: str | None
    columns: dict[str, ColumnSpec]
    # identifier type -> canonical column holding it
    identifiers: dict[str, str] = field(default_factory=dict)
    # >1 when a record spans rows (a receipt's lines share its receipt_id)
    rows_per_record: int = 1


# Columns whose values identify or describe a person: never echoed in messages or logs.
PERSONAL_COLUMNS = frozenset(
    {
        "first_name",
        "last_name",
        "email",
        "phone",
        "birth_date",
        "postcode",
        "shipping_postcode",
        "loyalty_card",
        "card_number",
        "customer_id",
        "account_id",
        "anonymous_id",
        "user_id",
        "subject",
        "body",
        "title",
        "open_answer",
    }
)

_PERSON = dict(first_name="string", last_name="string", email="string", phone="string")

KINDS: dict[str, SourceKindSpec] = {
    k.name: k
    for k in [
        SourceKindSpec(
            "customers",
            "customer_id",
            _cols(
                ("customer_id",),
                customer_id="string",
                **_PERSON,
                birth_date="date",
                gender="string",
                postcode="string",
                city="string",
                income_band="string",
                education="string",
                marital_status="string",
                job_title="string",
                signup_date="date",
                marketing_consent="boolean",
                loyalty_card="string",
            ),
            {
                "customer_id": "customer_id",
                "email": "email",
                "phone": "phone",
                "loyalty_card": "loyalty_card",
            },
        ),
        SourceKindSpec(
            "loyalty_members",
            "card_number",
            _cols(
                ("card_number",),
                card_number="string",
                **_PERSON,
                postcode="string",
                joined_date="date",
            ),
            {"loyalty_card": "card_number", "email": "email", "phone": "phone"},
        ),
        SourceKindSpec(
            "products",
            "product_id",
            _cols(
                ("product_id",),
                product_id="string",
                product_name="string",
                category="string",
                price="number",
            ),
        ),
        SourceKindSpec(
            "orders",
            "order_id",
            _cols(
                ("order_id", "order_ts", "total"),
                order_id="string",
                account_id="string",
                email="string",
                order_ts="timestamp",
                channel="string",
                shipping_postcode="string",
                discount_code="string",
                subtotal="number",
                discount="number",
                total="number",
                status="string",
            ),
            {"account_id": "account_id", "email": "email"},
        ),
        SourceKindSpec(
            "order_lines",
            None,
            _cols(
                ("order_id", "product_id"),
                order_id="string",
                line_no="integer",
                product_id="string",
                quantity="integer",
                unit_price="number",
                line_discount="number",
                returned="boolean",
            ),
        ),
        SourceKindSpec(
            "pos_receipts",
            "receipt_id",
            _cols(
                ("receipt_id", "receipt_ts"),
                receipt_id="string",
                line_no="integer",
                store_id="string",
                loyalty_card="string",
                receipt_ts="timestamp",
                product_id="string",
                quantity="integer",
                unit_price="number",
                discount="number",
            ),
            {"loyalty_card": "loyalty_card"},
            rows_per_record=2,
        ),
        SourceKindSpec(
            "events",
            "message_id",
            {
                **_cols(
                    ("message_id", "type", "timestamp"),
                    message_id="string",
                    type="string",
                    anonymous_id="string",
                    user_id="string",
                    timestamp="timestamp",
                    event="string",
                    email="string",
                    channel="string",
                    page_path="string",
                    category="string",
                    product_id="string",
                    price="number",
                    query="string",
                ),
                # Segment-spec names differ from ours: map the JSON paths.
                "message_id": ColumnSpec(source="messageId", required=True),
                "anonymous_id": ColumnSpec(source="anonymousId"),
                "user_id": ColumnSpec(source="userId"),
                "email": ColumnSpec(source="traits.email"),
                "channel": ColumnSpec(source="context.channel"),
                "page_path": ColumnSpec(source="properties.path"),
                "category": ColumnSpec(source="properties.category"),
                "product_id": ColumnSpec(source="properties.product_id"),
                "price": ColumnSpec(type="number", source="properties.price"),
                "query": ColumnSpec(source="properties.query"),
            },
            {"account_id": "user_id", "email": "email", "anonymous_id": "anonymous_id"},
        ),
        SourceKindSpec(
            "email_campaigns",
            "campaign_id",
            _cols(
                ("campaign_id",),
                campaign_id="string",
                name="string",
                theme="string",
                sent_date="date",
            ),
        ),
        SourceKindSpec(
            "email_events",
            "event_id",
            _cols(
                ("event_id", "email", "event_type"),
                event_id="string",
                campaign_id="string",
                email="string",
                event_type="string",
                event_ts="timestamp",
            ),
            {"email": "email"},
        ),
        SourceKindSpec(
            "marketing_spend",
            None,
            _cols(
                ("month", "spend"),
                month="string",
                channel="string",
                campaign_id="string",
                spend="number",
            ),
        ),
        SourceKindSpec(
            "first_touch",
            "customer_id",
            _cols(
                ("customer_id",),
                customer_id="string",
                campaign_id="string",
                channel="string",
                touch_ts="timestamp",
            ),
            {"customer_id": "customer_id"},
        ),
        SourceKindSpec(
            "support_tickets",
            "ticket_id",
            _cols(
                ("ticket_id",),
                ticket_id="string",
                email="string",
                created_ts="timestamp",
                channel="string",
                topic="string",
                subject="string",
                body="string",
                satisfaction="integer",
            ),
            {"email": "email"},
        ),
        SourceKindSpec(
            "reviews",
            "review_id",
            _cols(
                ("review_id",),
                review_id="string",
                account_id="string",
                product_id="string",
                rating="integer",
                title="string",
                body="string",
                created_ts="timestamp",
            ),
            {"account_id": "account_id"},
        ),
        SourceKindSpec(
            "survey_responses",
            "response_id",
            _cols(
                ("response_id",),
                response_id="string",
                email="string",
                submitted_ts="timestamp",
                open_answer="string",
            ),
            {"email": "email"},
        ),
    ]
}


def effective_columns(spec: SourceSpec) -> tuple[dict[str, ColumnSpec], set[str]]:
    """The kind's columns overlaid with the source's own; and which ones the user declared."""
    columns = dict(KINDS[spec.kind].columns)
    columns.update(spec.columns)
    return columns, set(spec.columns)
