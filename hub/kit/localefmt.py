"""Numbers and dates as a client reads them (CLDR data through Babel): an Italian client
gets `1.234,56` and `31/12/2026`, an American one `1,234.56` and `12/31/2026`. Pure: no
I/O beyond Babel's bundled data."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_decimal

SUPPORTED = ("en", "it")
"""The languages the hub writes its labels in; any CLDR locale formats numbers and dates."""


def parse_locale(value: str) -> str:
    """A locale identifier as the hub stores it (`it`, `it_CH`, `en_GB`), or ValueError."""
    text = value.strip().replace("-", "_")
    try:
        locale = Locale.parse(text)
    except (ValueError, UnknownLocaleError):
        raise ValueError(f"'{value}' is not a locale (e.g. it, en, en_GB)") from None
    return str(locale)


def _locale(identifier: str) -> Locale:
    return Locale.parse(identifier)  # Babel keeps the parsed CLDR data itself


def language(identifier: str) -> str:
    """The label language for a locale: its own when the hub has it, else English."""
    lang = _locale(identifier).language
    return lang if lang in SUPPORTED else "en"


def amount(value: Decimal, identifier: str) -> str:
    """Two decimals with the locale's grouping and decimal signs (no currency sign: the
    currency has a column of its own)."""
    return format_decimal(value, format="#,##0.00", locale=_locale(identifier), decimal_quantization=True)


def _day_pattern(identifier: str) -> str:
    # The locale's short date, with the year in full (31/12/2026, not 31/12/26).
    pattern = str(_locale(identifier).date_formats["short"].pattern)
    return re.sub(r"y+", "yyyy", pattern)


def day(value: date | None, identifier: str) -> str:
    return "" if value is None else format_date(value, _day_pattern(identifier), locale=_locale(identifier))


def csv_delimiter(identifier: str) -> str:
    """`;` where the decimal sign is a comma (what spreadsheets there expect), else `,`."""
    return ";" if _locale(identifier).number_symbols.get("latn", {}).get("decimal", ".") == "," else ","


__all__ = ["SUPPORTED", "amount", "csv_delimiter", "day", "language", "parse_locale"]
