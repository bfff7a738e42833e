"""Numbers for people, in the workspace's locale: money, percentages, counts.

Money follows ``locale.currency`` and ``locale.language`` through Babel (CLDR
data): GBP/en gives ``£1,234``, EUR/de ``1.234 €``, USD/en ``$1,234``. With no
currency configured money is shown as a plain number, never with a guessed sign.
"""

from __future__ import annotations

import logging
import math
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, format_decimal

log = logging.getLogger(__name__)

DASH = "—"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:  # numpy scalars
            value = float(value)
        except (TypeError, ValueError):
            return None
    return None if math.isnan(value) or math.isinf(value) else float(value)


class NumberFormat:
    """Formats numbers by kind (``currency``, ``percent``, ``count``, ``days``, ...)."""

    def __init__(self, *, currency: str | None = None, language: str = "en") -> None:
        try:
            self.locale = Locale.parse(language)
        except (UnknownLocaleError, ValueError):
            log.warning("locale.language %r is unknown; numbers are formatted as in 'en'", language)
            self.locale = Locale.parse("en")
        self.currency = currency
        # The locale's own currency pattern, without decimals: '¤#,##0' (en), '#,##0 ¤' (de).
        pattern = self.locale.currency_formats["standard"].pattern.split(";")[0]
        self._whole_money = pattern.replace(".00", "")

    def decimal(self, value: float, pattern: str) -> str:
        return format_decimal(value, format=pattern, locale=self.locale)

    def money(self, value: float, *, cents: bool | None = None) -> str:
        """Whole units from 100 up (``£1,234``), cents below (``£23.40``) unless told."""
        cents = abs(value) < 100 if cents is None else cents
        if self.currency is None:
            return self.decimal(value, "#,##0.00" if cents else "#,##0")
        return format_currency(
            value,
            self.currency,
            format=None if cents else self._whole_money,
            currency_digits=cents,
            locale=self.locale,
        )

    def __call__(self, value: Any, fmt: str = "number") -> str:
        """0.62 -> 62%, currency -> £1,234, count -> 1,234, days -> 12 days; no value -> —."""
        v = _number(value)
        if v is None:
            return str(value) if isinstance(value, str) and value else DASH
        if fmt == "percent":
            return self.decimal(v * 100, "#,##0" if abs(v) >= 0.1 or v == 0 else "0.#") + "%"
        if fmt == "currency":
            return self.money(v)
        if fmt == "count":
            return self.decimal(round(v), "#,##0")
        if fmt in ("days", "years"):
            text = self.decimal(v, "#,##0" if abs(v) >= 10 else "0.#")
            unit = fmt[:-1] if text == "1" else fmt
            return f"{text} {unit}"
        if abs(v) >= 100:
            return self.decimal(v, "#,##0")
        return self.decimal(v, "0.#" if abs(v) >= 10 else "0.##")


@lru_cache(maxsize=32)
def number_format(currency: str | None = None, language: str = "en") -> NumberFormat:
    return NumberFormat(currency=currency, language=language)
