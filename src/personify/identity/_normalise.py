"""Normalisers for identifiers, as SQL macros so they run inside the engine.

They turn the many ways people and systems write one identifier into one key:
``+44 7700 900123``, ``(07700) 900 123`` and ``7700-900-123`` are all
``07700900123``; ``Jane.Doe+shop@googlemail.com`` is ``janedoe@gmail.com``.
Only formatting is undone here; typos are the job of probabilistic matching.
"""

from __future__ import annotations

from personify.engine import DuckDBEngine

# UK numbers: digits only; +44/0044 -> 0; a 10-digit number missing its
# leading 0 gets it back. Anything shorter than 7 digits is not a phone.
MACROS = {
    # One mailbox, one key: case and spaces never matter, a "+tag" never reaches
    # another mailbox, and Gmail ignores dots (googlemail.com is gmail.com).
    "email_clean": """(e) AS lower(replace(trim(e), ' ', ''))""",
    "email_domain": """(c) AS
        regexp_replace(split_part(c, '@', 2), '^googlemail\\.com$', 'gmail.com')""",
    "email_local": """(c) AS CASE WHEN email_domain(c) = 'gmail.com'
        THEN replace(split_part(split_part(c, '@', 1), '+', 1), '.', '')
        ELSE split_part(split_part(c, '@', 1), '+', 1) END""",
    "norm_email": """(e) AS CASE WHEN position('@' IN trim(e)) > 1
        AND email_local(email_clean(e)) <> ''
        THEN email_local(email_clean(e)) || '@' || email_domain(email_clean(e)) END""",
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
