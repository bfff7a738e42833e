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
    # column -> further key spaces its values belong to: a Segment alias's previousId is
    # an anonymous id or an earlier user id, so it links in both spaces
    also_identifies: dict[str, tuple[str, ...]] = field(default_factory=dict)


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
        "previous_id",
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
        # A table of attributes per customer (a telecom's contract, tenure, charges):
        # the attributes themselves are declared per source under 'attributes:'.
        SourceKindSpec(
            "customer_attributes",
            "customer_id",
            _cols(
                ("customer_id",),
                customer_id="string",
                email="string",
                phone="string",
                account_id="string",
            ),
            {
                "customer_id": "customer_id",
                "email": "email",
                "phone": "phone",
                "account_id": "account_id",
            },
        ),
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
                unit_cost="number",  # what one unit costs the company: margins where known
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
            )
            | {
                # Profiles count purchases by these channels: another vocabulary
                # ('desktop', 'Online') needs a value map, not silence.
                "channel": ColumnSpec(type="string", allowed=["web", "app", "store"]),
                "total": ColumnSpec(type="number", required=True, min=0),
                "subtotal": ColumnSpec(type="number", min=0),
                "discount": ColumnSpec(type="number", min=0),
            },
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
                    previous_id="string",
                    timestamp="timestamp",
                    event="string",
                    email="string",
                    channel="string",
                    device="string",
                    page_path="string",
                    category="string",
                    product_id="string",
                    price="number",
                    query="string",
                ),
                # Segment-spec names differ from ours: map the JSON paths.
                "message_id": ColumnSpec(type="string", source="messageId", required=True),
                "anonymous_id": ColumnSpec(type="string", source="anonymousId"),
                "user_id": ColumnSpec(type="string", source="userId"),
                # An alias call's earlier id (Segment: previousId -> userId).
                "previous_id": ColumnSpec(type="string", source="previousId"),
                "email": ColumnSpec(type="string", source="traits.email"),
                "channel": ColumnSpec(type="string", source="context.channel"),
                "device": ColumnSpec(type="string", source="context.device.type"),
                "page_path": ColumnSpec(type="string", source="properties.path"),
                "category": ColumnSpec(type="string", source="properties.category"),
                "product_id": ColumnSpec(type="string", source="properties.product_id"),
                "price": ColumnSpec(type="number", source="properties.price"),
                "query": ColumnSpec(type="string", source="properties.query"),
            },
            {"account_id": "user_id", "email": "email", "anonymous_id": "anonymous_id"},
            also_identifies={"previous_id": ("anonymous_id", "account_id")},
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
        # Third-party data keyed by a postcode, city or e-mail domain (``append:``); it
        # describes areas or companies, not persons, so it identifies no one.
        SourceKindSpec("reference", "key", _cols(("key",), key="string")),
    ]
}


def merge_column(base: ColumnSpec | None, override: ColumnSpec) -> ColumnSpec:
    """A user's column spec over the kind's: what the user left unset, the kind decides."""
    if base is None:
        return override
    given = override.model_dump(exclude_unset=True, exclude_none=True)
    return base.model_copy(update=given)


def effective_columns(spec: SourceSpec) -> tuple[dict[str, ColumnSpec], set[str]]:
    """The kind's columns overlaid with the source's own; and which ones the user declared.

    Custom attributes, survey scales and answers are columns too (typed by their role).
    """
    kind = KINDS[spec.kind].columns
    columns = dict(kind)
    for name, col in spec.columns.items():
        columns[name] = merge_column(kind.get(name), col)
    for name, attr in spec.attributes.items():
        columns[name] = ColumnSpec.model_validate(
            {**_column_fields(attr), "type": attr.column_type}
        )
    for name, scale in spec.scales.items():
        lo, hi = scale.range
        columns[name] = ColumnSpec.model_validate(
            {"min": lo, "max": hi, **_column_fields(scale), "type": scale.type or "number"}
        )
    for name, answer in spec.answers.items():
        columns[name] = ColumnSpec.model_validate({**_column_fields(answer), "type": "string"})
    declared = set(spec.columns) | set(spec.attributes) | set(spec.scales) | set(spec.answers)
    return {
        n: c if c.type else c.model_copy(update={"type": "string"}) for n, c in columns.items()
    }, declared


def identifier_columns(spec: SourceSpec) -> dict[str, str]:
    """Column -> the key space its values belong to, for one source.

    The kind says which of its columns identify a person (an order's ``account_id``
    is in the account_id space); a column's ``key:`` puts it in another space, or
    makes any declared column (an attribute too) an identifier. Columns of two
    sources in one key space link records whose values are equal.
    """
    keys = {column: key for key, column in KINDS[spec.kind].identifiers.items()}
    columns, _ = effective_columns(spec)
    for name, column in columns.items():
        if column.key:
            keys[name] = column.key
    return keys


def identifier_keys(spec: SourceSpec) -> list[tuple[str, str]]:
    """(column, key space) for every identifier of one source: :func:`identifier_columns`,
    plus the further spaces a kind gives a column (``also_identifies``) unless the
    source's config puts that column in a space of its own with ``key:``."""
    keys = identifier_columns(spec)
    pairs = list(keys.items())
    columns, _ = effective_columns(spec)
    for column, spaces in KINDS[spec.kind].also_identifies.items():
        if columns.get(column) is not None and columns[column].key:
            continue
        pairs += [(column, key) for key in spaces if (column, key) not in pairs]
    return pairs


def _column_fields(spec: ColumnSpec) -> dict[str, object]:
    return {
        k: v for k, v in spec.model_dump(exclude_none=True).items() if k in ColumnSpec.model_fields
    }


def kind_problems(sources: dict[str, SourceSpec]) -> list[str]:
    """Config problems that need the kinds: a column the kind does not know, and so on."""
    problems = []
    for name, spec in sources.items():
        kind = KINDS[spec.kind]
        for col in spec.columns:
            if col not in kind.columns:
                problems.append(
                    f"sources.{name}.columns.{col}: the {spec.kind} kind has no column '{col}' "
                    f"(its columns: {', '.join(kind.columns)}); declare other columns under "
                    "'attributes:' with a role"
                )
        clash = sorted(set(kind.columns) & (set(spec.attributes) | set(spec.scales)))
        for col in clash:
            problems.append(
                f"sources.{name}: '{col}' is a column of the {spec.kind} kind; "
                "map it under 'columns:' instead"
            )
    return problems
