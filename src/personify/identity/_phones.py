"""Phone numbers to E.164 (``+4930123456``), for any country.

Parsing follows Google's libphonenumber (the ``phonenumbers`` port): it knows
every country's national prefix, international call prefix and number plan,
which no hand-written rule can keep up with. It is Python, so the identity
stage calls it once per distinct raw value, in bounded chunks
(:func:`phone_mapping`), and loads the result back as a table.

- A number written internationally (``+49 30 1234567``, ``0049 30 1234567``)
  is read as such.
- Any other number is read as a number of ``region`` (the workspace's
  ``locale.country``): ``030 1234567`` with region DE is ``+49301234567``.
- Without a region a national number cannot be placed: it becomes its digits
  (``0301234567``), so it still links to the same number written the same way.
- A number libphonenumber does not accept as valid for its country (too short,
  an unallocated range, text) gives no key and links nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

_NOT_DIGITS = re.compile(r"\D")
_INTERNATIONAL_00 = re.compile(r"^\s*\(?\s*00")
# Fewer digits than this is no phone number even where the country is unknown.
_MIN_DIGITS = 7


def normalise_phone(
    raw: str | None, region: str | None, *, validity: dict[str, bool] | None = None
) -> str | None:
    """The E.164 form of ``raw`` (or its digits when it is national and no region is known).

    ``validity`` caches the validity check by E.164 form across calls: the check
    costs as much as parsing, and one number comes in several written forms.
    """
    if raw is None:
        return None
    text = raw.strip()
    if not text:
        return None
    written_00 = bool(_INTERNATIONAL_00.match(text))
    if region is None and not (text.startswith("+") or written_00):
        digits = _NOT_DIGITS.sub("", text)
        return digits if len(digits) >= _MIN_DIGITS else None
    if written_00:
        # "00" is the international call prefix of most countries; read it so in any
        # region (the US dials 011, which libphonenumber reads itself for region US).
        text = "+" + _INTERNATIONAL_00.sub("", text, count=1)
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    valid = validity.get(e164) if validity is not None else None
    if valid is None:
        valid = phonenumbers.is_valid_number(number)
        if validity is not None:
            validity[e164] = valid
    return e164 if valid else None


def phone_mapping(values: Iterable[str | None], region: str | None) -> list[str | None]:
    """:func:`normalise_phone` over many raw values (one chunk of distinct values)."""
    validity: dict[str, bool] = {}
    return [normalise_phone(v, region, validity=validity) for v in values]
