"""Normalisers for identifiers, as SQL macros so they run inside the engine.

They turn the many ways people and systems write one identifier into one key:
``+44 7700 900123``, ``(07700) 900 123`` and ``7700-900-123`` are all
``07700900123``. Only formatting is undone here; typos are the job of
probabilistic matching.
"""

from __future__ import annotations

from personify.engine import DuckDBEngine

# UK numbers: digits only; +44/0044 -> 0; a 10-digit number missing its
# leading 0 gets it back. Anything shorter than 7 digits is not a phone.
MACROS = {
    "norm_email": """(e) AS CASE WHEN position('@' IN trim(e)) > 1
        THEN lower(replace(trim(e), ' ', '')) END""",
    "phone_digits": """(p) AS regexp_replace(coalesce(p, ''), '[^0-9]', '', 'g')""",
    "norm_phone": """(p) AS CASE
        WHEN length(phone_digits(p)) < 7 THEN NULL
        WHEN starts_with(phone_digits(p), '0044') THEN '0' || substr(phone_digits(p), 5)
        WHEN starts_with(phone_digits(p), '44') AND length(phone_digits(p)) = 12
            THEN '0' || substr(phone_digits(p), 3)
        WHEN length(phone_digits(p)) = 10 AND NOT starts_with(phone_digits(p), '0')
            THEN '0' || phone_digits(p)
        ELSE phone_digits(p) END""",
    "norm_code": """(c) AS
        nullif(upper(regexp_replace(coalesce(c, ''), '[\\s\\-]', '', 'g')), '')""",
    "norm_id": """(i) AS nullif(trim(i), '')""",
}

NORMALISER = {
    "email": "norm_email",
    "phone": "norm_phone",
    "loyalty_card": "norm_code",
    "account_id": "norm_id",
    "customer_id": "norm_id",
    "anonymous_id": "norm_id",
}


def install_macros(engine: DuckDBEngine) -> None:
    for name, body in MACROS.items():
        engine.sql(f"CREATE OR REPLACE TEMP MACRO {name}{body}")
