"""Normalisers for identifiers, as SQL macros so they run inside the engine.

They turn the many ways people and systems write one identifier into one key:
``Jane.Doe+shop@googlemail.com`` is ``janedoe@gmail.com``, ``lc-0012 3456`` is
``LC00123456``. Phones need a country's number plan and go through
libphonenumber in Python instead (``_phones.py``). Only formatting is undone
here; typos are the job of probabilistic matching.
"""

from __future__ import annotations

from personify.engine import Engine

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
    "norm_code": """(c) AS
        nullif(upper(regexp_replace(coalesce(c, ''), '[\\s\\-]', '', 'g')), '')""",
    "norm_id": """(i) AS nullif(trim(i), '')""",
    # Separators libphonenumber ignores anyway, and "00" read as "+" (as _phones.py
    # does): it then parses "07412 345678" and "(07412) 345 678" once, not once each.
    "phone_compact": """(p) AS regexp_replace(
        regexp_replace(trim(p), '[\\s\\p{Z}\\p{Pd}.()/]', '', 'g'), '^00', '+')""",
}

# The key spaces with a normaliser of their own; any other key space (customer_id,
# account_id, a company's member_no) is an id: trimmed, otherwise as written.
NORMALISER = {"email": "norm_email", "loyalty_card": "norm_code"}
PHONE = "phone"  # normalised in Python (libphonenumber): see _phones.py


def normaliser(key_space: str) -> str:
    """The SQL macro that normalises values of a key space (not the phone space)."""
    return NORMALISER.get(key_space, "norm_id")


def install_macros(engine: Engine) -> None:
    """Each normaliser as a SQL function of the engine (a macro; expanded on engines
    without macros)."""
    for name, text in MACROS.items():
        parameters, body = text.split(" AS", 1)
        engine.define_macro(name, parameters.strip("() ").split(", "), body.strip())
