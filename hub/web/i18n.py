"""Languages of the web pages (Babel): the catalogues under hub/web/locales, the choice
of a locale, and dates, numbers and money formatted for it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations

__all__ = ["NullTranslations"]

LOCALES = ("en", "it")
DEFAULT = "en"
LOCALE_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"


def load(locale: str) -> NullTranslations:
    return Translations.load(str(LOCALE_DIR), [locale], domain=DOMAIN)


def negotiate(accept_language: str | None) -> str:
    """The best of our locales for an Accept-Language header (q-values honoured)."""
    wanted: list[tuple[float, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        if not tag or tag == "*":
            continue
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        wanted.append((-q + i * 1e-6, tag.replace("_", "-")))
    for _, tag in sorted(wanted):
        try:
            language = Locale.parse(tag, sep="-").language
        except (ValueError, UnknownLocaleError):
            continue
        if language in LOCALES:
            return language
    return DEFAULT


class Formats:
    """Formatting for one locale (Jinja filters). The Locale is parsed once (Babel parses
    a locale name on every call: most of the time of a page with hundreds of amounts), and
    dates and amounts, which repeat, are remembered (bounded)."""

    def __init__(self, locale: str, tz: str = "Europe/Rome") -> None:
        self.locale = Locale.parse(locale)
        self.tz = ZoneInfo(tz)
        self._dates: dict[tuple[date, str], str] = {}
        self._money: dict[tuple[str, str], str] = {}

    def date(self, value: date | None, fmt: str = "medium") -> str:
        if value is None:
            return "—"
        key = (value, fmt)
        found = self._dates.get(key)
        if found is None:
            if len(self._dates) > 10_000:  # bounded: a long-lived process sees every day
                self._dates.clear()
            found = self._dates[key] = format_date(value, fmt, locale=self.locale)
        return found

    def datetime(self, value: datetime | None, fmt: str = "medium") -> str:
        if value is None:
            return "—"
        return format_datetime(value, fmt, tzinfo=self.tz, locale=self.locale)

    def money(self, value: Decimal | str | None, currency: str) -> str:
        if value is None:
            return "—"
        key = (str(value), currency)
        found = self._money.get(key)
        if found is None:
            if len(self._money) > 50_000:
                self._money.clear()
            found = self._money[key] = format_currency(Decimal(value), currency, locale=self.locale)
        return found

    def number(self, value: int | Decimal | None) -> str:
        return format_decimal(value, locale=self.locale) if value is not None else "—"
